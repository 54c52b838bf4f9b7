"""Base networks of a GEBM: x = B_theta(z), z ~ eta = N(0, I) (seed 001, "Generalized
energy-based models").

- :class:`ShiftGenerator`: B_theta(z) = theta + z, the toy base whose gradient theorem has a closed form.
- :class:`GaussianBase`: a fixed affine map x = m + L z, the full-dimensional Gaussian base N(m, L L^T) of an
  EBM with a density (:func:`fit_gaussian_base` fits m and L to data).
- :class:`MLPGenerator`: a multilayer perceptron, for toy data and small images (output reshaped to
  ``out_shape``; ``tanh`` output for images scaled to [-1, 1]).
- :class:`DCGANGenerator`: the DCGAN-style ConvNet (transposed convolutions with batch norm, Radford et al.).
- :class:`SNGANGenerator`: the ConvNet generator of the SNGAN paper, used by the GEBM paper on CIFAR-10.
All take ``z: (B, latent_dim)`` and return ``(B, *out_shape)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentebm.ops import mlp


class ShiftGenerator(nn.Module):
    """B_theta(z) = theta + z, z: (B, d) -> (B, d); theta: (d,) initialised at ``theta``."""

    def __init__(self, theta: torch.Tensor) -> None:
        super().__init__()
        self.theta = nn.Parameter(theta.clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.theta


class GaussianBase(nn.Module):
    """x = mean + z @ scale_tril^T, z: (B, d) -> (B, d); buffers, not parameters (the base is not trained)."""

    def __init__(self, mean: torch.Tensor, scale_tril: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("scale_tril", scale_tril.clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean + z @ self.scale_tril.T


def fit_gaussian_base(x: torch.Tensor) -> GaussianBase:
    """The Gaussian base N(m, S) with m and S the sample mean and covariance of x: (N, d); L = cholesky(S)."""
    return GaussianBase(x.mean(0), torch.linalg.cholesky(torch.cov(x.T)))


class MLPGenerator(nn.Module):
    """z: (B, latent_dim) -> (B, *out_shape) through ``depth`` hidden layers of width ``hidden``."""

    def __init__(self, latent_dim: int, out_shape: tuple[int, ...], hidden: int = 128, depth: int = 2,
                 activation: type[nn.Module] = nn.SiLU, output: str = "linear") -> None:
        super().__init__()
        self.out_shape = tuple(out_shape)
        if output not in ("linear", "tanh"):
            raise ValueError(f"output must be 'linear' or 'tanh', got {output!r}")
        body = mlp([latent_dim] + [hidden] * depth + [math.prod(self.out_shape)], activation)
        self.net = nn.Sequential(*body, nn.Tanh()) if output == "tanh" else body

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(z.shape[0], *self.out_shape)


def _start_size(image_size: int) -> int:
    """Spatial size before three (32 -> 4) or two (28 -> 7) doublings."""
    if image_size == 32:
        return 4
    if image_size == 28:
        return 7
    if image_size % 4 == 0:
        return image_size // 4
    raise ValueError(f"image_size must be 28, 32 or a multiple of 4, got {image_size}")


class DCGANGenerator(nn.Module):
    """DCGAN-style: z as a (latent_dim, 1, 1) map, a transposed convolution to (4w, s0, s0), then stride-2
    transposed convolutions with batch norm and ReLU up to ``image_size``, ``tanh`` output.

    z: (B, latent_dim) -> (B, channels, image_size, image_size).
    """

    def __init__(self, latent_dim: int, channels: int = 1, image_size: int = 28, width: int = 64) -> None:
        super().__init__()
        s0 = _start_size(image_size)
        n_up = {4: 3, 7: 2}.get(s0, 2)
        widths = [width * 2 ** (n_up - 1 - i) for i in range(n_up)] + [channels]
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], s0, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for i in range(n_up):
            layers.append(nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=i == n_up - 1))
            if i < n_up - 1:
                layers += [nn.BatchNorm2d(widths[i + 1]), nn.ReLU(True)]
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class SNGANGenerator(nn.Module):
    """The SNGAN ConvNet generator: linear z -> (8w, s0, s0), stride-2 transposed 4x4 convolutions halving the
    width (batch norm, ReLU) up to ``image_size``, a 3x3 convolution to ``channels``, ``tanh`` output.

    With ``image_size=32, width=64`` this is the 4x4x512 -> 256 -> 128 -> 64 -> 3 network of the paper.
    z: (B, latent_dim) -> (B, channels, image_size, image_size).
    """

    def __init__(self, latent_dim: int, channels: int = 3, image_size: int = 32, width: int = 64) -> None:
        super().__init__()
        s0 = _start_size(image_size)
        n_up = {4: 3, 7: 2}.get(s0, 2)
        top = width * 2**n_up
        self.s0, self.top = s0, top
        self.linear = nn.Linear(latent_dim, top * s0 * s0)
        layers: list[nn.Module] = [nn.BatchNorm2d(top), nn.ReLU(True)]
        w = top
        for _ in range(n_up):
            layers += [nn.ConvTranspose2d(w, w // 2, 4, 2, 1), nn.BatchNorm2d(w // 2), nn.ReLU(True)]
            w //= 2
        layers += [nn.Conv2d(w, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.linear(z).reshape(z.shape[0], self.top, self.s0, self.s0))
