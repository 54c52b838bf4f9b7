"""Several independent MLP energies evaluated as one batched network, so that the seeds of a training run cost
about what one seed costs (on a CPU these small networks are dominated by the cost of launching each operation).

:class:`EnsembleMLP` holds ``members`` MLPs of the same sizes: weights ``(S, n_in, n_out)`` and biases
``(S, 1, n_out)`` per layer. It maps ``x: (S, B, D)`` to ``(S, B)``: member ``s`` sees only ``x[s]`` and its own
weights (a batched matrix product), so the gradient of a sum of per-member losses gives each member the gradient
of its own loss, and element-wise optimisers (SGD, Adam) update each member as if it were trained alone.

Member ``s`` is initialised like ``torch.nn.Linear`` (weights and biases uniform on ``(-1/sqrt(n_in),
1/sqrt(n_in))``) from the global torch stream: build inside :func:`latentebm.runtime.initialised_from`.
:meth:`member` extracts one member as an ordinary ``nn.Sequential`` (for tests and for plotting one energy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.functional import leaky_relu


class EnsembleMLP(nn.Module):
    """``members`` MLPs ``sizes[0] -> ... -> sizes[-1] = 1`` with LeakyReLU(``negative_slope``) between layers.

    The anatomy paper's toy network is ``sizes = (2, 32, 64, 64, 64, 1)`` with slope 0.05.
    """

    def __init__(self, members: int, sizes: Sequence[int], negative_slope: float = 0.05) -> None:
        super().__init__()
        if members < 1 or len(sizes) < 2 or sizes[-1] != 1:
            raise ValueError(f"an ensemble energy needs members >= 1 and sizes ending in 1, got {members}, {sizes}")
        self.members, self.sizes, self.negative_slope = int(members), tuple(int(s) for s in sizes), negative_slope
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(n_in)
            self.weights.append(nn.Parameter(torch.empty(members, n_in, n_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, n_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (S, B, D) -> (S, B)."""
        if x.dim() != 3 or x.shape[0] != self.members or x.shape[2] != self.sizes[0]:
            raise ValueError(f"expected x of shape ({self.members}, B, {self.sizes[0]}), got {tuple(x.shape)}")
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = leaky_relu(h, self.negative_slope)
        return h.squeeze(-1)

    def member(self, s: int) -> nn.Sequential:
        """Member ``s`` as a plain ``nn.Sequential`` of ``nn.Linear`` and ``nn.LeakyReLU`` (a copy of its weights)."""
        layers: list[nn.Module] = []
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            linear = nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                linear.weight.copy_(w[s].T)
                linear.bias.copy_(b[s, 0])
            layers.append(linear)
            if i < last:
                layers.append(nn.LeakyReLU(self.negative_slope))
        return nn.Sequential(*layers)
