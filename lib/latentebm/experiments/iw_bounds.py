"""The importance-weighted bound measured where log p(x) is known: probabilistic PCA of digits (notebook 17).

The model is :class:`latentebm.models.factor_analysis.FactorAnalysis` fitted in closed form; the proposal a
diagonal Gaussian ``q = N(scale * m(x), (widening * s)^2)`` built from the posterior ``N(m(x), S)`` (``s`` its
standard deviations), so that the ELBO's gap (``KL(q || p(z|x))``) and the weights' relative variance are known
per example in closed form. Every study takes its draws from one explicit ``rng``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from latentebm.divergences import importance_weighted as iw
from latentebm.models.factor_analysis import FactorAnalysis

KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""the k at which the bound is measured (nested: each uses the first k of the same draws)"""
RESAMPLE_KS = (1, 10, 100, 1000)


@dataclass(frozen=True)
class Proposal:
    """``q(z|x) = N(mean, diag(std^2))`` per example: ``mean (B, d)``, ``std (d,)``."""

    mean: Tensor
    std: Tensor


def mismatched_proposal(fa: FactorAnalysis, x: Tensor, scale: float, widening: float) -> Proposal:
    """The posterior's mean times ``scale`` and its standard deviations times ``widening``."""
    m, cov = fa.posterior(x)
    return Proposal(scale * m, widening * cov.diagonal().sqrt())


@dataclass
class BoundStudy:
    """Per k (``ks``): the mean gap ``log p(x) - L_k`` over examples and replicates with its standard error over
    replicates, the mean bound, and the seed's printed version minus ``log p(x)``; per example, the closed-form
    ELBO gap and relative variance of the weights."""

    ks: list[int]
    gap: np.ndarray
    gap_se: np.ndarray
    bound: np.ndarray
    seed_overshoot: np.ndarray
    kl: np.ndarray
    relative_variance: np.ndarray

    def slope(self, k_min: int = 100) -> float:
        """Least-squares slope of ``log gap`` against ``log k`` for ``k >= k_min``."""
        keep = np.asarray(self.ks) >= k_min
        return float(np.polyfit(np.log(np.asarray(self.ks)[keep]), np.log(self.gap[keep]), 1)[0])


def bound_study(fa: FactorAnalysis, x: Tensor, q: Proposal, replicates: int, rng: torch.Generator,
                ks: Sequence[int] = KS) -> BoundStudy:
    """``replicates`` independent sets of ``max(ks)`` draws per example; the smaller k take the first k draws."""
    ks = list(ks)
    log_p = fa.log_evidence(x)
    bounds, printed = [], []
    for _ in range(replicates):
        log_w = fa.log_weights(x, q.mean, q.std, ks[-1], rng)
        bounds.append(iw.nested_bounds(log_w, ks))
        printed.append(torch.stack([iw.seed_bound(log_w[:k]) for k in ks]))
    gaps = (log_p - torch.stack(bounds)).mean(2)  # (replicates, len(ks))
    return BoundStudy(ks=ks, gap=gaps.mean(0).numpy(), gap_se=(gaps.std(0) / math.sqrt(replicates)).numpy(),
                      bound=torch.stack(bounds).mean((0, 2)).numpy(),
                      seed_overshoot=(torch.stack(printed) - log_p).mean((0, 2)).numpy(),
                      kl=fa.proposal_kl(q.mean, q.std, x).numpy(),
                      relative_variance=fa.weight_relative_variance(q.mean, q.std, x).numpy())


def resampled_variance_ratio(fa: FactorAnalysis, x: Tensor, q: Proposal, sets: int, rng: torch.Generator,
                             ks: Sequence[int] = RESAMPLE_KS) -> list[float]:
    """For each k: ``sets`` draws of the resampled proposal q_p^k per example (each from k fresh draws of q,
    one kept with probability w~_i); their variance per latent coordinate over the posterior's, averaged."""
    _, cov = fa.posterior(x)
    x_rep, mean_rep = x.repeat(sets, 1), q.mean.repeat(sets, 1)
    ratios = []
    for k in ks:
        z = mean_rep + q.std * torch.randn((k, *mean_rep.shape), generator=rng, dtype=mean_rep.dtype)
        chosen = z[iw.resample(fa.log_weights_at(x_rep, z, mean_rep, q.std), rng), torch.arange(z.shape[1])]
        ratios.append(float((chosen.reshape(sets, len(x), -1).var(0) / cov.diagonal()).mean()))
    return ratios


def wake_sleep_gradient_gap(fa: FactorAnalysis, x: Tensor, q: Proposal, k: int, rng: torch.Generator) -> float:
    """Relative gap between the gradient in ``W`` of ``sum log (1/k) sum_i w_i`` (autograd through log-sum-exp)
    and ``sum_i w~_i grad_W log p(x, z_i)`` with the weights detached (reweighted wake-sleep's wake phase), on the
    same draws (``rng``'s state replayed). A check of the code's bound rather than of a theorem: it is the chain
    rule of log-sum-exp."""
    state = rng.get_state()
    W = fa.W.clone().requires_grad_()
    model = FactorAnalysis(W, fa.mu, fa.sigma)
    log_w = model.log_weights(x, q.mean, q.std, k, rng)
    through_bound = torch.autograd.grad(iw.iw_bound(log_w).sum(), W)[0]
    weights = iw.normalised_weights(log_w)
    rng.set_state(state)
    again = model.log_weights(x, q.mean, q.std, k, rng)
    weighted = torch.autograd.grad((weights * again).sum(), W)[0]
    return float((through_bound - weighted).norm() / weighted.norm())
