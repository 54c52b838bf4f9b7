"""Scoring a trained image GEBM's samples against its generator's, one model at a time (notebooks 05 and 06; seed
001, "Experiments": relative FID = FD(GEBM samples) / FD(base alone)).

- :func:`score_latent_ula`: notebook 05's sampler, latent ULA at beta from prior draws, followed along its chain
  and stopped where the FD to a validation set was lowest (the test set is only reported), for several feature
  classifiers at once; with the ratio's Monte-Carlo spread, the model at beta 1 and two diagnostics.
- :func:`paper_table_row`: notebook 06's row of the paper's table for one model: latent kinetic Langevin with the
  decaying step, the same at a constant step stopped on validation, IMH and DOT, for one feature classifier.

Ratios are FD(samples, test images) / FD(B(z0), test images), with z0 the prior draws every chain starts from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from latentebm.metrics.frechet import extract_features, frechet_distance
from latentebm.ops import effective_sample_size
from latentebm.runtime import Stream
from latentebm.samplers import baselines, chains, schedules
from latentebm.samplers.potentials import gebm_latent_potential, value_and_grad
from latentebm.samplers.quality import latent_frechet

Network = Callable[[torch.Tensor], torch.Tensor]


def median_gradient_norm(potential: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> float:
    """The median over chains of |grad U(z)|: the scale a fixed step size meets at ``z: (C, d)``."""
    return float(value_and_grad(potential, z)[1].norm(dim=1).median())


@dataclass
class LangevinScore:
    """One model's latent ULA, scored by each of J feature classifiers."""

    base_fd: np.ndarray
    """(J,) FD(B(z0), test images)"""
    prior_spread: np.ndarray
    """(J,) FD of a second batch of prior draws / FD of the first: the ratio's Monte-Carlo spread"""
    steps: list[int]
    ratios: np.ndarray
    """(len(steps), J) the held-out ratio along the chain"""
    chosen: int
    """index into ``steps`` of the lowest validation FD (mean ratio over the classifiers)"""
    z0: torch.Tensor
    z_stopped: torch.Tensor
    beta_one: np.ndarray
    """(J,) the ratio of the same sampler at beta 1 (the model itself, step scaled by beta)"""
    ess_fraction: float
    """ESS of exp(-E) over the prior draws' images / their number (1: E reweights nothing)"""
    gradient_scale: float
    """median |grad U_beta| at the prior draws"""

    @property
    def fixed(self) -> np.ndarray:
        """(J,) the ratio after every step"""
        return self.ratios[-1]

    @property
    def stopped(self) -> np.ndarray:
        """(J,) the ratio at the step chosen on validation"""
        return self.ratios[self.chosen]


def _ratios(scorers: Sequence[Callable[[torch.Tensor], float]], z: torch.Tensor, base: np.ndarray) -> np.ndarray:
    return np.array([fd(z) for fd in scorers]) / base


def score_latent_ula(base: Network, energy: Network, classifiers: Sequence[nn.Module],
                     features: dict[str, list[np.ndarray]], *, n: int, latent_dim: int, beta: float,
                     step_size: float, n_steps: int, every: int, rng: torch.Generator,
                     device: torch.device | str = "cpu") -> LangevinScore:
    """Score latent ULA at ``beta`` (``n`` chains, ``n_steps`` steps of ``step_size``, scored every ``every``)
    against the generator alone. ``features``: {"test": [...], "validation": [...]}, one feature array per
    classifier (:func:`~latentebm.metrics.frechet.extract_features`). Draws from ``rng``, in this order: the prior
    draws z0, a second prior batch, the chain, then the chains at beta 1."""
    scorers = {part: [latent_frechet(base, c, f) for c, f in zip(classifiers, features[part], strict=True)]
               for part in ("test", "validation")}
    z0 = torch.randn(n, latent_dim, generator=rng).to(device)
    base_fd = {part: np.array([fd(z0) for fd in scorers[part]]) for part in scorers}
    z_other = torch.randn(n, latent_dim, generator=rng).to(device)
    potential = gebm_latent_potential(base, energy, beta)
    with torch.no_grad():
        ess = effective_sample_size(-energy(base(z0)).double()) / n
    run = chains.sample_early_stopped(
        "ula", z0, potential, schedules.constant(step_size), n_steps, rng, every,
        score=lambda z: float(_ratios(scorers["validation"], z, base_fd["validation"]).mean()),
        report=lambda z: _ratios(scorers["test"], z, base_fd["test"]))
    one = chains.gebm_ula_samples(base, energy, n, latent_dim, rng, 1.0, n_steps, step_size * beta, device)
    beta_one = np.array([frechet_distance(f, extract_features(c, one)) for c, f in
                         zip(classifiers, features["test"], strict=True)]) / base_fd["test"]
    return LangevinScore(base_fd["test"], _ratios(scorers["test"], z_other, base_fd["test"]), run.steps,
                         np.array(run.reports), run.steps.index(run.step), z0, run.z, beta_one, ess,
                         median_gradient_norm(potential, z0))


@dataclass
class TableRow:
    """One model's row of the paper's table (ratios for one feature classifier) and the constant-step chain."""

    langevin: float
    """kinetic Langevin with the decaying step (the paper's "latent Langevin")"""
    stopped: float
    """kinetic Langevin at a constant step, stopped on validation (ours)"""
    imh: float
    dot: float
    steps: list[int]
    curve: list[float]
    """the constant-step chain's held-out ratio at ``steps``"""
    chosen: int
    """index into ``steps`` chosen on validation"""
    gradient_scale: float
    """median |grad U_beta| at the prior draws"""


def paper_table_row(base: Network, energy: Network, classifier: nn.Module, features_test: np.ndarray,
                    features_val: np.ndarray, stream: Stream, *, n: int, latent_dim: int, beta: float,
                    kla_step: float, friction: float, decay_factor: float, decay_every: int, n_steps: int,
                    every: int, imh_steps: int, dot_steps: int, dot_lr: float,
                    device: torch.device | str = "cpu") -> TableRow:
    """The four samplers from the same ``n`` prior draws (``stream/prior``); the kinetic chains share the
    random numbers of ``stream/kla``, IMH draws from ``stream/imh``; DOT is deterministic."""
    test_fd, val_fd = latent_frechet(base, classifier, features_test), latent_frechet(base, classifier, features_val)
    z0 = torch.randn(n, latent_dim, generator=stream.child("prior").torch(device), device=device,
                     dtype=torch.float32)
    base_test, base_val = test_fd(z0), val_fd(z0)
    potential = gebm_latent_potential(base, energy, beta)
    decayed, _ = chains.sample("kla", z0, potential, schedules.step_decay(kla_step, decay_factor, decay_every),
                               n_steps, stream.child("kla").torch(device), friction=friction)
    stopped = chains.sample_early_stopped("kla", z0, potential, schedules.constant(kla_step), n_steps,
                                          stream.child("kla").torch(device), every,
                                          score=lambda z: val_fd(z) / base_val,
                                          report=lambda z: test_fd(z) / base_test, friction=friction)
    imh, _ = chains.sample("imh", z0, potential, schedules.constant(0.0), imh_steps, stream.child("imh").torch(device))
    critic = baselines.latent_critic(base, energy)
    z_dot = baselines.dot_shift(z0, critic, baselines.latent_slope_bound(critic, z0), dot_steps, dot_lr)
    chosen = stopped.steps.index(stopped.step)
    return TableRow(test_fd(decayed.z) / base_test, stopped.reports[chosen], test_fd(imh.z) / base_test,
                    test_fd(z_dot) / base_test, stopped.steps, stopped.reports, chosen,
                    median_gradient_norm(potential, z0))
