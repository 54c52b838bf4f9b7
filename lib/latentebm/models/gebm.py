"""A GEBM = a base (generator) B_theta and an energy E, dQ_{B,E}(x) = exp(-E(x)) dQ_theta(x) / Z (seed 001).

:func:`build_gebm` rebuilds both networks from a plain ``config`` dict (what ``models.store.save_model``
stores beside the weights), so a later notebook loads a trained GEBM by name::

    from latentebm.models.gebm import build_gebm
    from latentebm.models.store import load_model
    loaded = load_model(output_dir, "05_gebm_mnist", build_gebm)   # None if notebook 05 has not run
    modules, config = loaded; G, E = modules["generator"], modules["energy"]
    z = torch.randn(n, config["latent_dim"]); x = G(z)             # x: (n, *config["data_shape"])

Config keys: ``latent_dim`` (int), ``data_shape`` (list of ints, e.g. [1, 14, 14] or [2]),
``generator`` ("mlp" | "dcgan" | "sngan"), ``generator_width``, ``generator_depth`` (mlp only),
``generator_output`` ("linear" | "tanh", mlp only), ``energy`` ("mlp" | "conv"), ``energy_width``,
``energy_depth`` (mlp only), ``energy_spectral`` (bool), ``energy_floor`` (float or None),
and for images ``pixel_range`` ([-1, 1]: the scale of the data the model was trained on).

The latent posterior (the GEBM's sampling target, slide "Sampling from the model") is
nu(z) ∝ eta(z) exp(-E(B(z))); ``samplers.potentials.gebm_latent_potential`` gives U(z) = |z|^2/2 + beta E(B(z))
(beta = 1 is the model, beta > 1 tempers it, the paper samples at beta = 100).
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from latentebm.models.energies import ConvEnergy, MLPEnergy
from latentebm.models.generators import DCGANGenerator, MLPGenerator, SNGANGenerator

DEFAULTS: dict[str, Any] = {
    "generator": "mlp", "generator_width": 128, "generator_depth": 2, "generator_output": "linear",
    "energy": "mlp", "energy_width": 128, "energy_depth": 2, "energy_spectral": False, "energy_floor": None,
}


def build_generator(config: dict) -> nn.Module:
    """The base network B_theta described by ``config`` (see module docstring)."""
    c = {**DEFAULTS, **config}
    shape = tuple(int(s) for s in c["data_shape"])
    if c["generator"] == "mlp":
        return MLPGenerator(c["latent_dim"], shape, c["generator_width"], c["generator_depth"],
                            output=c["generator_output"])
    cls = {"dcgan": DCGANGenerator, "sngan": SNGANGenerator}.get(c["generator"])
    if cls is None:
        raise ValueError(f"unknown generator {c['generator']!r}; expected 'mlp', 'dcgan' or 'sngan'")
    return cls(c["latent_dim"], channels=shape[0], image_size=shape[-1], width=c["generator_width"])


def build_energy(config: dict) -> nn.Module:
    """The energy network E described by ``config`` (see module docstring)."""
    c = {**DEFAULTS, **config}
    shape = tuple(int(s) for s in c["data_shape"])
    if c["energy"] == "mlp":
        return MLPEnergy(math.prod(shape), c["energy_width"], c["energy_depth"], spectral=c["energy_spectral"],
                         floor=c["energy_floor"])
    if c["energy"] == "conv":
        return ConvEnergy(shape[0], shape[-1], c["energy_width"], floor=c["energy_floor"],
                          spectral=c["energy_spectral"])
    raise ValueError(f"unknown energy {c['energy']!r}; expected 'mlp' or 'conv'")


def build_gebm(config: dict) -> dict[str, nn.Module]:
    """{"generator": B_theta, "energy": E} rebuilt from ``config`` (untrained weights; load a state after)."""
    return {"generator": build_generator(config), "energy": build_energy(config)}
