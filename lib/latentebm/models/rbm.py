"""A binary restricted Boltzmann machine small enough to enumerate, and its Gibbs chains as paths (seed 003).

Energy ``E(x, z) = -x^T W z - b^T x - c^T z`` on ``x in {0,1}^V``, ``z in {0,1}^H``. Both conditionals factorise:
``p(z|x) = prod_j Bern(sigmoid(c + W^T x)_j)`` and ``p(x|z) = prod_i Bern(sigmoid(b + W z)_i)``, with log-normalisers

    A(x) = log sum_z exp(-E(x, z)) = b^T x + sum_j softplus(c_j + (W^T x)_j),
    A(z) = log sum_x exp(-E(x, z)) = c^T z + sum_i softplus(b_i + (W z)_i),

so ``log p(z|x) = -E - A(x)`` and ``log p(x|z) = -E - A(z)`` (the seed's ``Z_x`` and ``Z_z``). The marginals are
``p(x) ∝ exp A(x)`` and ``p(z) ∝ exp A(z)``.

Bachman & Precup read contrastive divergence as KL between two path distributions: the forward chain from data
``q = D(x_0) p(z_0|x_0) p(x_1|z_0) ... p(z_k|x_k)`` and the reverse chain ``p = pi(z_k) p(x_k|z_k) p(z_{k-1}|x_k)
... p(x_0|z_0)``. With tied weights every factor pair telescopes, leaving

    log q(path) / p(path) = log D(x_0) - log pi(z_k) + A(z_k) - A(x_0).

:func:`path_log_ratio` computes the left side factor by factor, :func:`telescoped_log_ratio` the right.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid, softplus

from latentebm.divergences.joint_kl import kl_tables


def binary_states(n: int) -> Tensor:
    """Every vector of ``{0, 1}^n`` as rows, ``(2^n, n)`` float64, in binary counting order."""
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=torch.float64)


@dataclass
class RBM:
    """``W (V, H)``, ``b (V,)``, ``c (H,)``, float64."""

    W: Tensor
    b: Tensor
    c: Tensor

    @classmethod
    def random(cls, visible: int, hidden: int, rng: torch.Generator, scale: float = 1.0) -> RBM:
        def draw(*shape: int) -> Tensor:
            return scale * torch.randn(shape, generator=rng, dtype=torch.float64)

        return cls(draw(visible, hidden), draw(visible), draw(hidden))

    def energy(self, x: Tensor, z: Tensor) -> Tensor:
        """``E(x, z)`` for rows ``x (B, V)``, ``z (B, H) -> (B,)``."""
        return -((x @ self.W) * z).sum(-1) - x @ self.b - z @ self.c

    def log_normaliser_x(self, x: Tensor) -> Tensor:
        """``A(x)``, ``(B, V) -> (B,)``."""
        return x @ self.b + softplus(self.c + x @ self.W).sum(-1)

    def log_normaliser_z(self, z: Tensor) -> Tensor:
        """``A(z)``, ``(B, H) -> (B,)``."""
        return z @ self.c + softplus(self.b + z @ self.W.T).sum(-1)

    def log_p_z_given_x(self, z: Tensor, x: Tensor) -> Tensor:
        logits = self.c + x @ self.W
        return (z * logsigmoid(logits) + (1 - z) * logsigmoid(-logits)).sum(-1)

    def log_p_x_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        logits = self.b + z @ self.W.T
        return (x * logsigmoid(logits) + (1 - x) * logsigmoid(-logits)).sum(-1)

    def transition_x_to_z(self) -> Tensor:
        """``p(z|x)`` as a table over every state, ``(2^V, 2^H)``."""
        xs, zs = binary_states(len(self.b)), binary_states(len(self.c))
        return self.log_p_z_given_x(zs[None, :, :], xs[:, None, :]).exp()

    def transition_z_to_x(self) -> Tensor:
        """``p(x|z)`` as a table, ``(2^H, 2^V)``."""
        xs, zs = binary_states(len(self.b)), binary_states(len(self.c))
        return self.log_p_x_given_z(xs[None, :, :], zs[:, None, :]).exp()

    def marginal_x(self) -> Tensor:
        """``p(x) ∝ exp A(x)`` over every visible state, ``(2^V,)``."""
        return torch.softmax(self.log_normaliser_x(binary_states(len(self.b))), 0)

    def marginal_z(self) -> Tensor:
        """``p(z) ∝ exp A(z)`` over every hidden state, ``(2^H,)``."""
        return torch.softmax(self.log_normaliser_z(binary_states(len(self.c))), 0)


def path_log_ratio(rbm: RBM, xs: list[Tensor], zs: list[Tensor], log_data: Tensor, log_prior: Tensor) -> Tensor:
    """``log q(path) - log p(path)`` factor by factor for paths ``x_0, z_0, ..., x_k, z_k`` (lists of ``(B, .)``),
    with ``log_data = log D(x_0) (B,)`` and ``log_prior = log pi(z_k) (B,)``."""
    k = len(xs) - 1
    log_q = log_data + sum(rbm.log_p_z_given_x(zs[i], xs[i]) for i in range(k + 1)) + sum(
        rbm.log_p_x_given_z(xs[i + 1], zs[i]) for i in range(k))
    log_p = log_prior + sum(rbm.log_p_x_given_z(xs[i], zs[i]) for i in range(k + 1)) + sum(
        rbm.log_p_z_given_x(zs[i], xs[i + 1]) for i in range(k))
    return log_q - log_p


def telescoped_log_ratio(rbm: RBM, x0: Tensor, zk: Tensor, log_data: Tensor, log_prior: Tensor) -> Tensor:
    """The seed's telescoped form ``log D(x_0) - log pi(z_k) + A(z_k) - A(x_0)``, ``(B,)``."""
    return log_data - log_prior + rbm.log_normaliser_z(zk) - rbm.log_normaliser_x(x0)


def state_index(v: Tensor) -> Tensor:
    """The row of :func:`binary_states` holding each binary row of ``v (B, n)``, ``(B,)`` long."""
    n = v.shape[-1]
    return (v.long() * (2 ** torch.arange(n - 1, -1, -1))).sum(-1)


def gibbs_paths(rbm: RBM, x0: Tensor, k: int, rng: torch.Generator) -> tuple[list[Tensor], list[Tensor]]:
    """Forward Gibbs paths ``x_0, z_0, ..., x_k, z_k`` from the rows of ``x0 (B, V)``."""
    xs, zs = [x0], []
    for i in range(k + 1):
        z_prob = torch.sigmoid(rbm.c + xs[i] @ rbm.W)
        zs.append((torch.rand(z_prob.shape, generator=rng, dtype=z_prob.dtype) < z_prob).to(z_prob.dtype))
        if i < k:
            x_prob = torch.sigmoid(rbm.b + zs[i] @ rbm.W.T)
            xs.append((torch.rand(x_prob.shape, generator=rng, dtype=x_prob.dtype) < x_prob).to(x_prob.dtype))
    return xs, zs


def path_kl(rbm: RBM, data: Tensor, k: int, prior: Tensor) -> dict[str, Any]:
    """KL between the forward and reverse path distributions, by the telescoped form with the forward chain's
    marginal of ``z_k`` from transition tables; and the KL of the x_0-marginals, ``KL(D || p_rev(x_0))``, where
    ``p_rev(x_0)`` is the reverse chain's marginal started from ``prior`` (``data (2^V,)``, ``prior (2^H,)``).

    Returns {"path": float, "marginal": float, "q_zk": the forward chain's z_k marginal, "p_x0": p_rev(x_0)}."""
    to_z, to_x = rbm.transition_x_to_z(), rbm.transition_z_to_x()
    q_zk = data @ to_z @ torch.linalg.matrix_power(to_x @ to_z, k)
    xs, zs = binary_states(len(rbm.b)), binary_states(len(rbm.c))
    expected = ((data * (data.log() - rbm.log_normaliser_x(xs))).sum()
                + (q_zk * (rbm.log_normaliser_z(zs) - prior.log())).sum())
    p_x0 = prior @ torch.linalg.matrix_power(to_x @ to_z, k) @ to_x
    marginal = (data * (data.log() - p_x0.log())).sum()
    return {"path": float(expected), "marginal": float(marginal), "q_zk": q_zk, "p_x0": p_x0}


def enumerated_path_kl(rbm: RBM, data: Tensor, prior: Tensor) -> float:
    """KL of the k = 1 path distributions by summing over every path ``(x_0, z_0, x_1, z_1)`` with both joints
    built factor by factor (no telescoping): the independent check of :func:`path_kl`."""
    to_z, to_x = rbm.transition_x_to_z(), rbm.transition_z_to_x()
    # indices a = x_0, b = z_0, c = x_1, d = z_1
    q = torch.einsum("a,ab,bc,cd->abcd", data, to_z, to_x, to_z)  # D(x0) p(z0|x0) p(x1|z0) p(z1|x1)
    p = torch.einsum("d,dc,cb,ba->abcd", prior, to_x, to_z, to_x)  # pi(z1) p(x1|z1) p(z0|x1) p(x0|z0)
    return float(kl_tables(q, p))
