"""Energy networks E: X -> R of a GEBM, the model being dQ_{B,E} = exp(-E) dQ_theta / Z (seed 001).

- :class:`QuadraticEnergy`: E(x) = -w.x + 0.5 * a |x|^2 (a fixed or trained), the class where the inner KALE
  problem against Gaussians is solved in closed form.
- :class:`MLPEnergy`: a multilayer perceptron on flattened inputs, optionally spectrally normalised.
- :class:`ConvEnergy`: the SNGAN-style ConvNet discriminator with spectral normalisation, for 28x28 / 32x32.
Each takes ``x: (B, ...)`` and returns ``(B,)``. ``floor`` (optional) bounds the output from below smoothly,
E = floor + softplus(e - floor), so exp(-E) <= exp(-floor) (the authors floor their energy at -10).
``bound`` (MLP, optional) makes the class bounded, E = bound * tanh(e / bound), so that the inner KALE problem on
finite samples has a maximiser (an unbounded MLP class makes it +inf on mutually singular samples).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import softplus
from torch.nn.utils.parametrizations import spectral_norm

from latentebm.ops import mlp


def apply_floor(e: torch.Tensor, floor: float | None) -> torch.Tensor:
    """Smooth lower bound: floor + softplus(e - floor) (= e well above the floor); identity if floor is None."""
    return e if floor is None else floor + softplus(e - floor)


class QuadraticEnergy(nn.Module):
    """E(x) = -w.x + 0.5 * a * |x|^2 for x: (B, d); w: (d,) trained, a = ``curvature`` fixed unless
    ``train_curvature``."""

    def __init__(self, dim: int, curvature: float = 0.0, train_curvature: bool = False) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(dim))
        a = torch.tensor(float(curvature))
        if train_curvature:
            self.curvature = nn.Parameter(a)
        else:
            self.register_buffer("curvature", a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x @ self.w + 0.5 * self.curvature * (x * x).sum(-1)


class MLPEnergy(nn.Module):
    """x: (B, *shape) -> (B,): flatten, ``depth`` hidden layers of width ``hidden``, scalar output."""

    def __init__(self, in_dim: int, hidden: int = 128, depth: int = 2, activation: type[nn.Module] = nn.SiLU,
                 spectral: bool = False, floor: float | None = None, bound: float | None = None) -> None:
        super().__init__()
        self.net = mlp([in_dim] + [hidden] * depth + [1], activation, wrap=spectral_norm if spectral else None)
        self.floor = floor
        self.bound = bound

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.net(x.reshape(x.shape[0], -1)).squeeze(-1)
        if self.bound is not None:
            e = self.bound * torch.tanh(e / self.bound)
        return apply_floor(e, self.floor)


class ConvEnergy(nn.Module):
    """The SNGAN ConvNet discriminator as an energy: pairs of (3x3 stride 1, 4x4 stride 2) spectrally
    normalised convolutions with widths w, 2w, 4w, a 3x3 convolution to 8w, LeakyReLU(0.1), then a linear map.

    x: (B, channels, image_size, image_size) -> (B,).
    """

    def __init__(self, channels: int = 3, image_size: int = 32, width: int = 64, floor: float | None = None,
                 spectral: bool = True) -> None:
        super().__init__()
        sn = spectral_norm if spectral else (lambda m: m)
        layers: list[nn.Module] = []
        w_in, size = channels, image_size
        for w in (width, 2 * width, 4 * width):
            layers += [sn(nn.Conv2d(w_in, w, 3, 1, 1)), nn.LeakyReLU(0.1),
                       sn(nn.Conv2d(w, w, 4, 2, 1)), nn.LeakyReLU(0.1)]
            w_in, size = w, size // 2
        layers += [sn(nn.Conv2d(w_in, 8 * width, 3, 1, 1)), nn.LeakyReLU(0.1)]
        self.features = nn.Sequential(*layers)
        self.linear = sn(nn.Linear(8 * width * size * size, 1))
        self.floor = floor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x).flatten(1)
        return apply_floor(self.linear(h).squeeze(-1), self.floor)
