"""A variational auto-encoder with the same decoder as the latent generator model, the baseline of seed 002
(arXiv 1912.01909 compares short-run inference with a VAE).

Encoder ``q_phi(z|x) = N(m(x), diag(exp(v(x))))``; decoder the :class:`LatentGenerator` with fixed noise sigma.
ELBO: ``E_q[log p(x|z)] - KL(q_phi(z|x) || N(0, I))``, the expectation by one reparameterised draw.

For binary images (seeds 003 and 004: the VAE and IWAE on binarised digits) the same decoder with
``output="linear"`` gives Bernoulli logits; :func:`log_weights` draws k latents per example and returns the log
importance weights ``log p(x|z_i) + log p(z_i) - log q(z_i|x)`` from which every bound of
:mod:`latentebm.divergences.importance_weighted` is made (k = 1: the ELBO).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from latentebm.models.latent_generators import LatentGenerator, log_likelihood
from latentebm.ops import mlp, standard_normal_log_prob
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


def bernoulli_log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """``log Bern(x; sigmoid(logits))`` summed over the last axis, ``(..., D) -> (...)`` (x in {0, 1}; stable
    for large logits: ``x l - softplus(l)``)."""
    return (x * logits - torch.nn.functional.softplus(logits)).sum(-1)


def diagonal_normal_log_prob(z: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """``log N(z; mean, diag(exp(log_variance)))`` summed over the last axis (broadcasting), ``(..., d) -> (...)``."""
    return standard_normal_log_prob((z - mean) * (-0.5 * log_variance).exp()) - 0.5 * log_variance.sum(-1)


def log_weights(encoder: Encoder, decoder: LatentGenerator, x: Tensor, k: int, rng: torch.Generator) -> Tensor:
    """Log importance weights ``log p(x|z_i) + log p(z_i) - log q(z_i|x)`` of ``k`` reparameterised draws
    ``z_i ~ q(z|x)`` per example, Bernoulli decoder (``decoder`` returns logits), ``x (B, D) -> (k, B)``.

    Gradients flow through the draws (the reparameterisation), so ``iw_bound(log_weights(...)).mean()`` is the
    IWAE objective and its k = 1 case the VAE's."""
    mean, log_variance = encoder(x)
    eps = torch.randn((k, *mean.shape), generator=require_rng(rng, "log_weights"), dtype=mean.dtype,
                      device=mean.device)
    z = mean + (0.5 * log_variance).exp() * eps
    logits = decoder(z.reshape(-1, z.shape[-1])).reshape(k, x.shape[0], -1)
    return (bernoulli_log_likelihood(x, logits) + standard_normal_log_prob(z)
            - diagonal_normal_log_prob(z, mean, log_variance))


def analytic_kl_elbo(encoder: Encoder, decoder: LatentGenerator, x: Tensor, k: int, rng: torch.Generator) -> Tensor:
    """The ELBO with its KL to N(0, I) in closed form and the reconstruction term averaged over ``k`` draws,
    Bernoulli decoder, ``(B,)``: the usual VAE estimator (pythae's, Kingma & Welling's), of lower variance than
    the mean of :func:`log_weights`, which samples the KL too (the IWAE paper's VAE)."""
    mean, log_variance = encoder(x)
    eps = torch.randn((k, *mean.shape), generator=require_rng(rng, "analytic_kl_elbo"), dtype=mean.dtype,
                      device=mean.device)
    z = mean + (0.5 * log_variance).exp() * eps
    logits = decoder(z.reshape(-1, z.shape[-1])).reshape(k, x.shape[0], -1)
    kl = 0.5 * (mean**2 + log_variance.exp() - 1 - log_variance).sum(-1)
    return bernoulli_log_likelihood(x, logits).mean(0) - kl
