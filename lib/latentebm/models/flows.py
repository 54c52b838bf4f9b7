"""Real NVP (Dinh, Sohl-Dickstein & Bengio, 2017): a bijection with a tractable Jacobian, used in seed 001
("Sanity check: reduction to EBM case") as a GEBM base B_theta whose law Q_theta has a closed-form density.

Notation. The flow maps data to latent, ``z = f_theta(x)``; the base (generator) is its inverse,
``x = B_theta(z) = f_theta^{-1}(z)`` with ``z ~ eta = N(0, I_d)``. By the change of variables,

    log q_theta(x) = log eta(f_theta(x)) + log |det d f_theta / d x|.                           (1)

Each affine coupling layer keeps the coordinates where the mask m is 1 and transforms the others:

    y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x)),   log |det dy/dx| = sum_i (1 - m_i) s_i,   (2)

so its Jacobian is triangular (after a permutation) and its inverse is explicit,
``x = m * y + (1 - m) * (y - t(m * y)) * exp(-s(m * y))``. Masks alternate from layer to layer so every
coordinate is transformed. ``s`` is bounded by ``scale * tanh`` for stable training.
All functions take ``x: (B, d)``; log-densities are ``(B,)``. Initial weights come from the global torch stream
(the last layer of every coupling starts at zero, so a new flow is the identity map): build a flow inside
:func:`latentebm.runtime.initialised_from` to draw them from a named stream.
"""

from __future__ import annotations

import torch
from torch import nn

from latentebm.ops import mlp, standard_normal_log_prob
from latentebm.runtime import require_rng


def alternating_masks(dim: int, n_layers: int) -> torch.Tensor:
    """Masks ``(n_layers, dim)`` of 0/1: layer k keeps coordinates i with (i + k) even (for d = 1, alternates
    between keeping and transforming the single coordinate)."""
    index = torch.arange(dim)
    return torch.stack([((index + k) % 2 == 0).to(torch.get_default_dtype()) for k in range(n_layers)])


class AffineCoupling(nn.Module):
    """One coupling layer (2) with mask ``m: (d,)``; s and t come from one MLP on ``m * x``."""

    def __init__(self, mask: torch.Tensor, hidden: int = 64, depth: int = 2) -> None:
        super().__init__()
        dim = mask.numel()
        self.register_buffer("mask", mask.clone())
        self.net = mlp([dim] + [hidden] * depth + [2 * dim], activation=nn.SiLU)
        last = self.net[-1]
        nn.init.zeros_(last.weight)  # start at the identity map
        nn.init.zeros_(last.bias)
        self.scale = nn.Parameter(torch.ones(dim))

    def shift_and_log_scale(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, t) for the kept part ``m * x``, both zero where m = 1; kept: (B, d)."""
        s, t = self.net(kept).chunk(2, dim=-1)
        free = 1.0 - self.mask
        return free * self.scale * torch.tanh(s), free * t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(y, log |det dy/dx|) for x: (B, d)."""
        s, t = self.shift_and_log_scale(self.mask * x)
        return x * torch.exp(s) + t, s.sum(-1)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, log |det dx/dy|) for y: (B, d); the kept coordinates pass through, so s and t are recomputed."""
        s, t = self.shift_and_log_scale(self.mask * y)
        return (y - t) * torch.exp(-s), -s.sum(-1)


class RealNVP(nn.Module):
    """A stack of affine couplings with alternating masks over a standard normal base eta = N(0, I_d)."""

    def __init__(self, dim: int, n_layers: int = 6, hidden: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.dim = dim
        self.layers = nn.ModuleList(AffineCoupling(m, hidden, depth) for m in alternating_masks(dim, n_layers))

    def to_latent(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = f_theta(x) and log |det d f_theta / dx|; x: (B, d) -> ((B, d), (B,))."""
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def generate(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x = B_theta(z) = f_theta^{-1}(z) and log |det dB_theta/dz|; z: (B, d) -> ((B, d), (B,))."""
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        for layer in reversed(self.layers):
            z, ld = layer.inverse(z)
            log_det = log_det + ld
        return z, log_det

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log q_theta(x) by the change of variables (1); x: (B, d) -> (B,)."""
        z, log_det = self.to_latent(x)
        return standard_normal_log_prob(z) + log_det

    def sample(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n draws x = B_theta(z), z ~ eta (from ``rng``, on the flow's device), and their log q_theta(x);
        differentiable in theta (reparametrised).

        log q_theta(B(z)) = log eta(z) - log |det dB/dz|, with no second pass through the flow.
        """
        reference = next(self.parameters())
        rng = require_rng(rng, "RealNVP.sample")
        z = torch.randn(n, self.dim, generator=rng, dtype=reference.dtype, device=reference.device)
        x, log_det = self.generate(z)
        return x, standard_normal_log_prob(z) - log_det
