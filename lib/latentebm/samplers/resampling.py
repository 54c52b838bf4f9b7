"""Sampling-importance-resampling (SIR) from a reweighted base: exact samples of a GEBM or an EBM in the limit
of a large pool, with no Markov chain, so a measurement of the *model* is not mixed up with a sampler's error.

Target nu(x) ∝ exp(log_w(x)) q(x) with q a base we can sample: draw a pool x_1..x_M ~ q, resample n of them with
probabilities w_i / sum_j w_j. As M -> inf the resampled points are distributed as nu (Rubin, 1987). The
effective sample size ESS = (sum w)^2 / sum w^2 of the pool (:func:`latentebm.ops.effective_sample_size`) says
how far M is from enough: when it is a few, the resample is a few repeated points, and a finer sampler is needed
(latent Langevin, notebook 06).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from latentebm.ops import effective_sample_size


class Resample(NamedTuple):
    """x: (n, ...) resampled points; ess: effective sample size of the pool (1 <= ess <= M)."""

    x: torch.Tensor
    ess: float


@torch.no_grad()
def importance_resample(pool: torch.Tensor, log_w: torch.Tensor, n: int, rng: torch.Generator) -> Resample:
    """n points drawn with replacement from ``pool`` (M, ...) with probabilities softmax(log_w), log_w: (M,)."""
    probs = torch.softmax(log_w.double().cpu(), 0)
    index = torch.multinomial(probs, n, replacement=True, generator=rng)
    return Resample(pool[index.to(pool.device)], effective_sample_size(log_w.double()))


@torch.no_grad()
def resample_reweighted_base(base: Callable[[torch.Tensor], torch.Tensor],
                             energy: Callable[[torch.Tensor], torch.Tensor], latent_dim: int, n: int, pool: int,
                             rng: torch.Generator, beta: float = 1.0, device: torch.device | str = "cpu",
                             batch: int = 10000) -> Resample:
    """n samples of dQ ∝ exp(-beta E(x)) dQ_base(x), x = base(z), z ~ N(0, I_latent_dim), from a pool of ``pool``
    base draws (latents from ``rng``). Returns the points on the CPU and the pool's ESS."""
    xs, log_w = [], []
    for start in range(0, pool, batch):
        z = torch.randn(min(batch, pool - start), latent_dim, generator=rng).to(device)
        x = base(z)
        xs.append(x.cpu())
        log_w.append(-beta * energy(x).double().cpu())
    return importance_resample(torch.cat(xs), torch.cat(log_w), n, rng)
