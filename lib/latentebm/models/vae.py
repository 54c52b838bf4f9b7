"""A variational auto-encoder with the same decoder as the latent generator model, the baseline of seed 002
(arXiv 1912.01909 compares short-run inference with a VAE).

Encoder ``q_phi(z|x) = N(m(x), diag(exp(v(x))))``; decoder the :class:`LatentGenerator` with fixed noise sigma.
ELBO: ``E_q[log p(x|z)] - KL(q_phi(z|x) || N(0, I))``, the expectation by one reparameterised draw.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from latentebm.models.latent_generators import LatentGenerator, log_likelihood
from latentebm.ops import mlp
from latentebm.runtime import require_rng


class Encoder(nn.Module):
    """``x (B, D) -> (mean (B, d), log_variance (B, d))`` by a one-hidden-layer MLP (:func:`latentebm.ops.mlp`).

    ``dtype`` sets the weights' dtype (``None``: torch's default). Initial weights come from the global torch
    stream: build it inside :func:`latentebm.runtime.initialised_from`.
    """

    def __init__(self, x_dim: int, z_dim: int, hidden: int = 64, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.net = mlp([x_dim, hidden, 2 * z_dim], activation=nn.Softplus)
        if dtype is not None:
            self.net.to(dtype)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_variance = self.net(x).chunk(2, dim=1)
        return mean, log_variance.clamp(-12.0, 6.0)


def elbo(encoder: Encoder, decoder: LatentGenerator, x: Tensor, sigma: float,
         rng: torch.Generator) -> Tensor:
    """Per-example ELBO ``(B,)``, with one reparameterised draw ``z = m + exp(v/2) * eps``, ``eps`` from ``rng``."""
    mean, log_variance = encoder(x)
    eps = torch.randn(mean.shape, generator=require_rng(rng, "elbo"), dtype=mean.dtype, device=mean.device)
    z = mean + (0.5 * log_variance).exp() * eps
    kl = 0.5 * (mean**2 + log_variance.exp() - 1 - log_variance).sum(dim=1)
    return log_likelihood(x, decoder(z), sigma) - kl


def reconstruct(encoder: Encoder, decoder: LatentGenerator, x: Tensor) -> Tensor:
    """``g(m(x))``: the decoder at the encoder's mean, ``(B, D)``."""
    return decoder(encoder(x)[0])
