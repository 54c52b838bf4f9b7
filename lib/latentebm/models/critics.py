"""Critic (witness) functions for variational divergence bounds: f: R^d -> R.

- :class:`LinearCritic`, :class:`QuadraticCritic`: small parametric classes, f(x) = w.x + b and
  f(x) = x^T A x + w.x + b (A symmetric), that hold -log(p/q) for equal- and unequal-variance Gaussians.
  They start at f = 0 and draw nothing from any random stream.
- :class:`MLPCritic`: a multilayer perceptron (:func:`latentebm.ops.mlp`); with ``lipschitz=L`` every linear
  layer is spectrally normalised (power iteration, torch's parametrisation) and the output scaled by L, so that
  with 1-Lipschitz activations the critic is (up to the power-iteration estimate) L-Lipschitz in x. Its initial
  weights come from the global torch stream: build it inside :func:`latentebm.runtime.initialised_from`.
All take ``x: (B, d)`` and return ``(B,)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import skip_init
from torch.nn.utils.parametrizations import spectral_norm

from latentebm.ops import mlp


class LinearCritic(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = skip_init(nn.Linear, dim, 1)  # no random initialisation: the weights start at zero
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()

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
        wrap = spectral_norm if lipschitz is not None else None
        self.net = mlp([dim] + [hidden] * depth + [1], activation=activation, wrap=wrap)
        self.scale = 1.0 if lipschitz is None else float(lipschitz)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.net(x).squeeze(-1)
