"""Posterior inference of the latent vector of a generator model (seed 002: arXiv 1606.08571, 1912.01909).

Symbols: ``z`` the latent ``(B, d)``, ``x`` the data ``(B, D)``, ``log p(x, z)`` the log joint of the model,
``s`` the step size, ``eta = s^2 / 2``, ``K`` the number of steps. One Langevin step on ``log p(x, z)``
(alternating back-propagation, 1606.08571, inferential back-propagation):

    z_{k+1} = z_k + eta * grad_z log p(x, z_k) + s * xi_k,     xi_k ~ N(0, I)

Gradient ascent (the short-run inference of 1912.01909) drops the noise term. Started from the prior, ``K``
steps of gradient ascent are a deterministic map ``z_K = F_s(z_0)``, whose Jacobian is the product of the
per-step Jacobians ``I + eta * H_k``, ``H_k = grad_z^2 log p(x, z_k)`` (symmetric): :func:`unrolled_map`
returns ``z_K`` and ``log|det dF_s/dz_0|``, exactly (autograd Hessians) or by a stochastic trace estimator.

References: Han, Lu, Zhu, Wu (2017), Alternating back-propagation for generator network, arXiv 1606.08571.
Nijkamp, Pang, Han, Zhou, Zhu, Wu (2020), Learning multi-layer latent variable model via variational
optimization of short run MCMC for approximate inference, arXiv 1912.01909.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from latentebm.runtime import require_rng

LogJoint = Callable[[Tensor], Tensor]
"""``z (B, d) -> log p(x_b, z_b) (B,)``: the log joint of each example with its own latent."""


class ChainState(NamedTuple):
    """One chain per example: ``z (B, d)`` and the number of steps taken."""

    z: Tensor
    step: int


def score(log_joint: LogJoint, z: Tensor, create_graph: bool = False) -> Tensor:
    """``grad_z log p(x, z)``, ``(B, d)``. Examples are independent, so the gradient of the sum is per example."""
    if not z.requires_grad:
        z = z.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(log_joint(z).sum(), z, create_graph=create_graph)
    return gradient


def langevin_step(state: ChainState, log_joint: LogJoint, s: float | Tensor, rng: torch.Generator | None,
                  noise: bool = True, create_graph: bool = False) -> ChainState:
    """One step ``z + (s^2/2) grad log p(x, z) + s xi``; without ``noise`` it is a gradient-ascent step."""
    z = state.z
    drift = 0.5 * s**2 * score(log_joint, z, create_graph=create_graph)
    z_next = z + drift if create_graph else z.detach() + drift.detach()
    if noise:
        xi = torch.randn(z.shape, generator=require_rng(rng, "a noisy Langevin step"), dtype=z.dtype, device=z.device)
        z_next = z_next + s * xi
    return ChainState(z_next, state.step + 1)


def run_chain(log_joint: LogJoint, z0: Tensor, s: float | Tensor, n_steps: int,
              rng: torch.Generator | None = None, noise: bool = False) -> Tensor:
    """``n_steps`` steps from ``z0 (B, d)``; returns ``z (B, d)`` detached (no graph kept across steps).

    Short-run inference starts ``z0`` from the prior; alternating back-propagation starts it from each
    example's persistent state.
    """
    state = ChainState(z0.detach(), 0)
    for _ in range(n_steps):
        state = langevin_step(state, log_joint, s, rng, noise=noise)
    return state.z.detach()


def hessian(gradient: Tensor, z: Tensor, create_graph: bool = True) -> Tensor:
    """``H (B, d, d)`` with ``H[b, i, :] = d gradient[b, i] / d z[b]`` (examples independent), by d backward passes."""
    rows = [torch.autograd.grad(gradient[:, i].sum(), z, create_graph=create_graph, retain_graph=True)[0]
            for i in range(z.shape[1])]
    return torch.stack(rows, dim=1)


def logdet_power_series(hvp: Callable[[Tensor], Tensor], shape: torch.Size, n_probes: int, n_terms: int,
                        rng: torch.Generator | None, dtype: torch.dtype, device) -> Tensor:
    """Hutchinson estimate of ``log det(I + A) = tr log(I + A) = sum_j (-1)^{j+1} tr(A^j) / j``, ``(B,)``.

    ``hvp(v)`` returns ``A v`` for ``v (B, d)``; ``A`` symmetric with spectral radius below 1 (the series
    diverges otherwise). Unbiased in the probes, biased by the truncation at ``n_terms``.
    """
    total = torch.zeros(shape[0], dtype=dtype, device=device)
    for _ in range(n_probes):
        v = torch.randint(0, 2, shape, generator=require_rng(rng, "Hutchinson probes"), device=device).to(dtype) * 2 - 1
        w = v
        for j in range(1, n_terms + 1):
            w = hvp(w)
            total = total + (-1) ** (j + 1) / j * (v * w).sum(dim=1)
    return total / n_probes


class Unrolled(NamedTuple):
    """``z_K (B, d)``, ``logdet (B,)`` and ``folds``: True when, at some step, the signs of det(I + eta H_k)
    disagree across the batch, i.e. the step folds space, is not injective, and the change of variables (one
    preimage per point) no longer holds (exact mode only; always False for the estimator)."""

    z: Tensor
    logdet: Tensor
    folds: bool


def unrolled_map(log_joint: LogJoint, z0: Tensor, s: Tensor, n_steps: int, logdet: str = "exact",
                 n_probes: int = 4, n_terms: int = 8, rng: torch.Generator | None = None) -> Unrolled:
    """The short-run map ``z_K = F_s(z_0)`` (gradient ascent) and ``log|det dF_s/dz_0|``, both differentiable in s.

    ``z0 (B, d)``; ``s`` a scalar tensor (may require grad). ``logdet`` is ``"exact"`` (autograd Hessians,
    ``sum_k log|det(I + eta H_k)|``; cost grows with d) or ``"hutchinson"`` (:func:`logdet_power_series`, one
    Hessian-vector product per term and probe, Rademacher probes drawn from ``rng``; needs
    ``eta * |lambda(H_k)| < 1``). Returns :class:`Unrolled`.
    """
    eta = 0.5 * s**2
    z = z0.detach().requires_grad_(True)
    total = torch.zeros(z0.shape[0], dtype=z0.dtype, device=z0.device)
    folds = False
    eye = torch.eye(z0.shape[1], dtype=z0.dtype, device=z0.device)
    for _ in range(n_steps):
        gradient = score(log_joint, z, create_graph=True)
        if logdet == "exact":
            sign, log_abs = torch.linalg.slogdet(eye + eta * hessian(gradient, z))
            folds = folds or bool(sign.min() != sign.max())
            total = total + log_abs
        elif logdet == "hutchinson":
            def hvp(v: Tensor, gradient=gradient, z=z) -> Tensor:
                # H v as a vector-Jacobian product with v as grad_outputs: v itself is not differentiated in z
                return eta * torch.autograd.grad(gradient, z, grad_outputs=v, create_graph=True, retain_graph=True)[0]

            total = total + logdet_power_series(hvp, z.shape, n_probes, n_terms, rng, z.dtype, z.device)
        else:
            raise ValueError(f"logdet must be 'exact' or 'hutchinson', got {logdet!r}")
        z = z + eta * gradient
    return Unrolled(z, total, folds)
