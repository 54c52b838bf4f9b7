"""A GEBM = a base network B_theta and an energy E, dQ_{B,E}(x) = exp(-E(x)) dQ_theta(x) / Z (seed 001).

:func:`build_gebm` builds both networks from a plain ``config`` dict (what the recipes of
:mod:`latentebm.experiments` hold and the store saves beside the weights)::

    modules = build_gebm({"latent_dim": 16, "data_shape": [1, 14, 14], "base": "mlp", "energy": "mlp"})
    B, E = modules["base"], modules["energy"]
    x = B(torch.randn(n, 16, generator=rng))                        # x: (n, 1, 14, 14)

Config keys: ``latent_dim`` (int), ``data_shape`` (list of ints, e.g. [1, 14, 14] or [2]),
``base`` ("mlp" | "dcgan" | "sngan"), ``base_width``, ``base_depth`` (mlp only),
``base_output`` ("linear" | "tanh", mlp only), ``energy`` ("mlp" | "conv"), ``energy_width``,
``energy_depth`` (mlp only), ``energy_spectral`` (bool), ``energy_floor`` (float or None),
and for images ``pixel_range`` ([-1, 1]: the scale of the data the model was trained on).
Weights come from the global torch stream: build inside :func:`latentebm.runtime.initialised_from`.

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
    "base": "mlp", "base_width": 128, "base_depth": 2, "base_output": "linear",
    "energy": "mlp", "energy_width": 128, "energy_depth": 2, "energy_spectral": False, "energy_floor": None,
}


def build_base(config: dict) -> nn.Module:
    """The base network B_theta described by ``config`` (see module docstring)."""
    c = {**DEFAULTS, **config}
    shape = tuple(int(s) for s in c["data_shape"])
    if c["base"] == "mlp":
        return MLPGenerator(c["latent_dim"], shape, c["base_width"], c["base_depth"], output=c["base_output"])
    cls = {"dcgan": DCGANGenerator, "sngan": SNGANGenerator}.get(c["base"])
    if cls is None:
        raise ValueError(f"unknown base {c['base']!r}; expected 'mlp', 'dcgan' or 'sngan'")
    return cls(c["latent_dim"], channels=shape[0], image_size=shape[-1], width=c["base_width"])


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
    """{"base": B_theta, "energy": E} built from ``config`` (fresh weights; load a state after to restore)."""
    return {"base": build_base(config), "energy": build_energy(config)}
