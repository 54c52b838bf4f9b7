"""Critic (witness) functions for variational divergence bounds: f: R^d -> R.

- :class:`LinearCritic`, :class:`QuadraticCritic`: small parametric classes, f(x) = w.x + b and
  f(x) = x^T A x + w.x + b (A symmetric), that hold -log(p/q) for equal- and unequal-variance Gaussians.
- :class:`MLPCritic`: a multilayer perceptron; with ``lipschitz=L`` every linear layer is spectrally
  normalised (power iteration, torch's parametrisation) and the output scaled by L, so that with 1-Lipschitz
  activations the critic is (up to the power-iteration estimate) L-Lipschitz in x.
All take ``x: (B, d)`` and return ``(B,)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class LinearCritic(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(-1)


class QuadraticCritic(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.quadratic = nn.Parameter(torch.zeros(dim, dim))
        self.linear = LinearCritic(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        symmetric = 0.5 * (self.quadratic + self.quadratic.T)
        return torch.einsum("bi,ij,bj->b", x, symmetric, x) + self.linear(x)


class MLPCritic(nn.Module):
    def __init__(
        self,
        dim: int,
        hidden: int = 64,
        depth: int = 2,
        activation: type[nn.Module] = nn.SiLU,
        lipschitz: float | None = None,
    ) -> None:
        super().__init__()
        widths = [dim] + [hidden] * depth + [1]
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            linear = nn.Linear(n_in, n_out)
            layers.append(spectral_norm(linear) if lipschitz is not None else linear)
            if i < len(widths) - 2:
                layers.append(activation())
        self.net = nn.Sequential(*layers)
        self.scale = 1.0 if lipschitz is None else float(lipschitz)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.net(x).squeeze(-1)
