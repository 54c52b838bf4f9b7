"""Generator models with latent variables, ``x = g_theta(z) + eps`` (seed 002: arXiv 1606.08571, 1912.01909).

Symbols: ``z = (z_1, ..., z_L)`` the latent layers, top (``z_1``) to bottom (``z_L``), each ``z_l ~ N(0, I)``;
``g_theta`` a top-down network in which each layer's latent enters the next::

    h_1 = act(A_1 z_1),   h_l = act(A_l [h_{l-1}, z_l]),   g_theta(z) = out(B h_L)

``eps ~ N(0, sigma^2 I)``. With all the layers concatenated into ``z (B, d)``, the log joint is

    log p(x, z) = -||x - g(z)||^2 / (2 sigma^2) - ||z||^2 / 2 - (D/2) log(2 pi sigma^2) - (d/2) log(2 pi).

Here: the network (:class:`LatentGenerator`, called ``net`` where it is an argument), its log-likelihood and log
joint, the per-pixel reconstruction error, and :func:`layer_resamples` (what each latent layer controls).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from latentebm.ops import standard_normal_log_prob
from latentebm.runtime import require_rng


class LatentGenerator(nn.Module):
    """Top-down generator with ``latent_dims = (d_1, ..., d_L)``; ``forward(z (B, sum d_l)) -> (B, D)``.

    ``dtype`` sets the weights' dtype (``None``: torch's default). Initial weights come from the global torch
    stream: build it inside :func:`latentebm.runtime.initialised_from`.
    """

    def __init__(self, latent_dims: Sequence[int], x_dim: int, hidden: int = 64, output: str = "sigmoid",
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.latent_dims = [int(d) for d in latent_dims]
        self.x_dim = x_dim
        self.layers = nn.ModuleList()
        width = 0
        for d in self.latent_dims:
            self.layers.append(nn.Linear(width + d, hidden, dtype=dtype))
            width = hidden
        self.out = nn.Linear(hidden, x_dim, dtype=dtype)
        self.output = output

    @property
    def latent_dim(self) -> int:
        return sum(self.latent_dims)

    def split(self, z: Tensor) -> list[Tensor]:
        """``z (B, d) -> [z_1 (B, d_1), ..., z_L (B, d_L)]``."""
        return list(torch.split(z, self.latent_dims, dim=1))

    def forward(self, z: Tensor) -> Tensor:
        h = None
        for layer, z_l in zip(self.layers, self.split(z), strict=True):
            h = torch.nn.functional.softplus(layer(z_l if h is None else torch.cat([h, z_l], dim=1)))
        mean = self.out(h)
        return torch.sigmoid(mean) if self.output == "sigmoid" else mean

    def prior(self, n: int, rng: torch.Generator) -> Tensor:
        """``n`` draws ``z ~ N(0, I)``, ``(n, d)``, in the network's dtype and on its device."""
        weight = self.out.weight
        return torch.randn(n, self.latent_dim, generator=require_rng(rng, "LatentGenerator.prior"),
                           device=weight.device, dtype=weight.dtype)

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        """``g(z)`` for ``z ~ N(0, I)``: the mean images of ``n`` draws, ``(n, D)``."""
        return self(self.prior(n, rng))


def log_likelihood(x: Tensor, mean: Tensor, sigma: float, mask: Tensor | None = None) -> Tensor:
    """``log N(x; mean, sigma^2 I)`` over the observed pixels (``mask (B, D)`` of 0/1, all by default), ``(B,)``."""
    residual = (x - mean) if mask is None else (x - mean) * mask
    n_observed = x.shape[1] if mask is None else mask.sum(dim=1)
    return -0.5 * (residual**2).sum(dim=1) / sigma**2 - 0.5 * n_observed * math.log(2 * math.pi * sigma**2)


def log_joint(net: nn.Module, x: Tensor, z: Tensor, sigma: float, mask: Tensor | None = None) -> Tensor:
    """``log p(x, z)`` per example, ``x (B, D)``, ``z (B, d) -> (B,)``."""
    return log_likelihood(x, net(z), sigma, mask) + standard_normal_log_prob(z)


def reconstruction_error(x: Tensor, x_hat: Tensor, mask: Tensor | None = None) -> float:
    """Mean squared error per pixel, over the pixels where ``mask`` is 1 (all by default)."""
    squared = (x - x_hat) ** 2
    if mask is None:
        return float(squared.mean())
    return float((squared * mask).sum() / mask.sum())


def layer_resamples(net: LatentGenerator, n_base: int, n_resample: int, groups: Mapping[str, slice],
                    rng: torch.Generator) -> tuple[Tensor, dict[str, Tensor]]:
    """What each group of latent coordinates controls: ``n_base`` base latents ``z (n_base, d)`` and, for each
    named group (a slice of the coordinates, e.g. one layer), the images ``g(z')`` ``(n_base, n_resample, D)``
    where ``z'`` is ``z`` with that group redrawn from the prior and every other coordinate held.

    The base draws come first from ``rng``, then one set of fresh draws shared by all the groups."""
    d = net.latent_dim
    base = net.prior(n_base, rng)
    fresh = net.prior(n_base * n_resample, rng).reshape(n_base, n_resample, d)
    induced = {}
    with torch.no_grad():
        for name, part in groups.items():
            z = base[:, None, :].repeat(1, n_resample, 1)
            z[:, :, part] = fresh[:, :, part]
            induced[name] = net(z.reshape(-1, d)).reshape(n_base, n_resample, -1)
    return base, induced
