"""Importance-weighted bounds on log p(x) (seed 003, Bachman & Precup; Burda, Grosse & Salakhutdinov's IWAE).

With ``k`` draws ``z_i ~ q(z|x)`` and weights ``w_i = p(x, z_i) / q(z_i|x)``:

    L_k = E[ log (1/k) sum_i w_i ] <= log p(x),       L_1 = ELBO <= L_k <= L_{k+1},

and ``L_k -> log p(x)`` as ``k -> infinity``. The seed prints the bound without the ``1/k``: that quantity is
``L_k + log k`` and exceeds ``log p(x)`` once ``log k`` is larger than the gap (:func:`seed_bound`, shown, never used).

Reweighted wake-sleep and the IWAE use the same self-normalised weights ``w~_i = w_i / sum_j w_j``: the gradient
of ``L_k`` in the generator's parameters is ``sum_i w~_i grad log p(x, z_i)`` with ``w~`` held fixed
(:func:`normalised_weights` returns them detached for such estimators).

Every function takes log weights ``(k, B)``: k draws (dim 0) for each of B examples.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def iw_bound(log_w: Tensor) -> Tensor:
    """``log (1/k) sum_i w_i`` per example, ``(k, B) -> (B,)``: one draw of the IWAE bound L_k."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def seed_bound(log_w: Tensor) -> Tensor:
    """``log sum_i w_i``, the bound as printed in seed 003 (no 1/k): ``iw_bound + log k``; not a bound."""
    return torch.logsumexp(log_w, dim=0)


def normalised_weights(log_w: Tensor) -> Tensor:
    """Self-normalised weights ``w~_i`` over the k draws of each example, ``(k, B)``, detached (constants in a
    gradient estimator)."""
    return torch.softmax(log_w.detach(), dim=0)


def nested_bounds(log_w: Tensor, ks: list[int] | tuple[int, ...]) -> Tensor:
    """``L_k`` for each ``k`` in ``ks`` from the first k of the same draws (common random numbers),
    ``(K, B) -> (len(ks), B)``; needs ``max(ks) <= K``."""
    if max(ks) > log_w.shape[0]:
        raise ValueError(f"nested_bounds: k = {max(ks)} needs that many draws, got {log_w.shape[0]}")
    return torch.stack([iw_bound(log_w[:k]) for k in ks])


def resample(log_w: Tensor, rng: torch.Generator) -> Tensor:
    """One index per example drawn with probabilities ``w~_i`` (sampling-importance-resampling): the seed's
    meta-proposal ``q_p^k(z|x)``, which tends to ``p(z|x)`` as k grows; ``(k, B) -> (B,)`` long."""
    return torch.multinomial(normalised_weights(log_w).T, 1, generator=rng).squeeze(1)
