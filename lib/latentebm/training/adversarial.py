"""The adversarial loops of seed 004 (Hu, Yang, Salakhutdinov & Xing, *On unifying deep generative models*,
ICLR 2018): a GAN and its importance-weighted variant on 2-D data, a VAE with a Gaussian decoder on the same data,
and the adversary-activated VAE on binary images.

Symbols (the seed's): ``y = 0`` marks generated samples, ``y = 1`` real ones; the discriminator ``q_phi(y=1|x) =
sigmoid(l_phi(x))`` with ``l_phi`` its logit network; the reversed discriminator ``q^r_phi(y|x) = q_phi(1-y|x)``.

- **GAN** (eq. 3): the discriminator ascends ``E_{p_theta(x|y) p(y)} log q_phi(y|x)``, the generator
  ``E log q^r_phi(y|x)``, whose only term in ``theta`` is ``E_{p_g} log q^r_phi(y=0|x) = E log sigmoid(l_phi(x))``:
  the non-saturating loss ``-log D(G(z))``.
- **IWGAN** (eq. 7): the generator's gradient ``sum_i w~_i grad_theta log q^r_phi0(y|x(z_i, theta))`` over groups of
  ``k`` generated samples, with ``w_i = q^r_phi0(y|x_i) / q_phi0(y|x_i) = D / (1 - D) = exp(l_phi(x_i))`` normalised
  within each group and held constant (detached): a sample the discriminator takes for real counts more. With
  ``k = 1``, or equal weights, it is the GAN's gradient. The discriminator's update is the GAN's (the seed gives
  only the generator's gradient).
- **Gaussian VAE** (Lemma 2): the ELBO with ``p(x|z) = N(g(z), sigma^2 I)``; in the seed's reading a degenerate
  adversarial mechanism with a perfect discriminator, which filters every generated sample out of training.
- **AAVAE**: *our reading* of the seed's "replacing the perfect discriminator with a parameterized discriminator
  ``q_phi(y|x)`` learned jointly ... an adaptive data weighting mechanism that selects high-quality generated
  samples". A discriminator is trained jointly (real binarised images against the VAE's own binary samples
  ``x ~ Bern(sigmoid(g(z)))``, ``z ~ N(0, I)``), and the VAE, besides its ELBO on real images, ascends the ELBO of
  its own samples weighted by ``lambda * q_phi(y=1|x)`` (the discriminator's probability that they are real,
  detached). ``lambda = 0`` is the plain VAE (no samples are drawn, no discriminator is trained).

Every loop draws all its randomness (batches, latents, binarisations, reparameterisations) from one
``torch.Generator``, checkpoints through :class:`latentebm.training.loop.Checkpointer` (the config is checked;
a resumed run ends where an uninterrupted one does), and stops on a non-finite or runaway loss
(:func:`latentebm.guards.check_finite`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import logsigmoid, softplus

from latentebm.data.images import binarise
from latentebm.divergences.importance_weighted import iw_bound
from latentebm.guards import check_finite
from latentebm.models.vae import elbo, log_weights
from latentebm.training.loop import Checkpointer, ProgressLog

GAN_OBJECTIVES = ("gan", "iwgan")
DataSampler = Callable[[int, torch.Generator], Tensor]
"""``draw(n, rng) -> (n, D)``: n data points"""


# --- the losses --------------------------------------------------------------------------------------------------


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """``-E_data log q_phi(y=1|x) - E_g log q_phi(y=0|x)`` (eq. 3, the discriminator's side, negated)."""
    return softplus(-real_logits).mean() + softplus(fake_logits).mean()


def importance_weights(fake_logits: Tensor, k: int) -> Tensor:
    """IWGAN's ``w~`` (eq. 7): ``w_i = q^r(y=0|x_i) / q(y=0|x_i) = exp(l_i)`` normalised within consecutive groups
    of ``k`` generated samples and detached, ``(B,) -> (B / k, k)`` (B a multiple of k)."""
    if fake_logits.shape[0] % k:
        raise ValueError(f"IWGAN groups: the batch of {fake_logits.shape[0]} is no multiple of k = {k}")
    return torch.softmax(fake_logits.detach().reshape(-1, k), dim=1)


def generator_loss(fake_logits: Tensor, objective: str = "gan", k: int = 1) -> Tensor:
    """The generator's loss from the discriminator's logits on generated samples ``(B,)``: ``"gan"`` the
    non-saturating ``-mean log q^r(y=0|x) = -mean log D``; ``"iwgan"`` ``-mean over groups of sum_i w~_i log D(x_i)``
    with the weights constant, whose gradient is eq. 7's (equal weights give the GAN's)."""
    log_qr = logsigmoid(fake_logits)
    if objective == "gan":
        return -log_qr.mean()
    if objective == "iwgan":
        return -(importance_weights(fake_logits, k) * log_qr.reshape(-1, k)).sum(1).mean()
    raise ValueError(f"objective must be one of {GAN_OBJECTIVES}, got {objective!r}")


def aavae_loss(encoder: nn.Module, decoder: nn.Module, discriminator: nn.Module, x_real: Tensor, x_fake: Tensor,
               weight: float, rng: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """The AAVAE's loss: ``-(mean ELBO(x_real) + lambda mean_i q_phi(y=1|x_fake_i) ELBO(x_fake_i))``, the
    discriminator's probabilities detached. Returns (loss, mean ELBO of the real batch, mean weight)."""
    if weight == 0:
        real = iw_bound(log_weights(encoder, decoder, x_real, 1, rng))
        return -real.mean(), real.mean(), torch.zeros(())
    w = torch.sigmoid(discriminator(x_fake).squeeze(-1)).detach()
    real, fake = iw_bound(log_weights(encoder, decoder, torch.cat([x_real, x_fake]), 1, rng)).split(
        [x_real.shape[0], x_fake.shape[0]])
    return -(real.mean() + weight * (w * fake).mean()), real.mean(), w.mean()


# --- the configs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GANConfig:
    """Every setting of a GAN or IWGAN run (saved with its checkpoints)."""

    objective: str = "gan"
    """"gan" (non-saturating) or "iwgan" (eq. 7)"""
    k: int = 8
    """IWGAN: generated samples per group of normalised weights"""
    steps: int = 2000
    batch_size: int = 256
    """real and generated samples per update (a multiple of k)"""
    lr: float = 1e-3
    """Adam's, for both networks"""
    betas: tuple[float, float] = (0.5, 0.999)
    latent_dim: int = 2
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        if self.objective not in GAN_OBJECTIVES:
            raise ValueError(f"objective must be one of {GAN_OBJECTIVES}, got {self.objective!r}")
        if self.k < 1 or self.batch_size % self.k:
            raise ValueError(f"k must be positive and divide the batch size, got k = {self.k}, batch "
                             f"{self.batch_size}")


@dataclass(frozen=True)
class VAEConfig:
    """Every setting of a Gaussian-decoder VAE run on 2-D data."""

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    sigma: float = 0.05
    """the decoder's fixed noise sd"""
    latent_dim: int = 2
    checkpoint_every: int = 0


@dataclass(frozen=True)
class AAVAEConfig:
    """Every setting of a VAE / AAVAE run on binary images (``adversary_weight = 0``: the plain VAE)."""

    adversary_weight: float = 1.0
    """lambda: the weight of the discriminator-weighted ELBO of the VAE's own samples"""
    steps: int = 2000
    batch_size: int = 100
    lr: float = 1e-3
    """Adam's, for the encoder and decoder"""
    discriminator_lr: float = 1e-3
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        if self.adversary_weight < 0:
            raise ValueError(f"adversary_weight must be >= 0, got {self.adversary_weight}")


# --- the loops ---------------------------------------------------------------------------------------------------


def adam(parameters: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with the fused kernel (on the CPU two to three times faster than the loop over tensors for networks
    this small; deterministic)."""
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=True)


def _checkpointer(path: Path | None, config: Any) -> Checkpointer | None:
    every = config.checkpoint_every
    return Checkpointer(path, every, dataclasses.asdict(config)) if path is not None and every else None


def _resume(checkpointer: Checkpointer | None, stateful: Mapping[str, Any],
            rng: torch.Generator) -> tuple[int, dict[str, list[float]]]:
    if checkpointer is None:
        return 0, {}
    start, extra = checkpointer.restore(stateful, {"train": rng})
    return start, {name: list(values) for name, values in extra.items()}


def _record(history: dict[str, list[float]], step: int, total: int, log: ProgressLog | None,
            checkpointer: Checkpointer | None, stateful: Mapping[str, Any], rng: torch.Generator,
            **values: float) -> None:
    """Keep, guard, log and checkpoint the step's values (the loops' shared tail)."""
    for name, value in values.items():
        history.setdefault(name, []).append(float(value))
    check_finite(step, limit=1e6, **values)
    if log is not None:
        log.log(step, total, **values)
    if checkpointer is not None and checkpointer.due(step):
        checkpointer.save(step, stateful, history, {"train": rng})


def train_gan(generator: nn.Module, discriminator: nn.Module, data: DataSampler, config: GANConfig,
              rng: torch.Generator, log: ProgressLog | None = None,
              checkpoint: Path | None = None) -> dict[str, list[float]]:
    """Alternate one discriminator and one generator update (Adam), ``config.steps`` times. ``generator``: ``z
    (B, latent_dim) -> x (B, D)``; ``discriminator``: ``x -> logit (B, 1)``. Returns the losses by step
    {"d_loss", "g_loss"}."""
    optimisers = {name: adam(net.parameters(), config.lr, config.betas)
                  for name, net in (("generator", generator), ("discriminator", discriminator))}
    stateful = {"generator": generator, "discriminator": discriminator,
                **{f"{name}_optimiser": opt for name, opt in optimisers.items()}}
    checkpointer = _checkpointer(checkpoint, config)
    start, history = _resume(checkpointer, stateful, rng)
    for step in range(start + 1, config.steps + 1):
        # discriminator: real against generated, eq. 3's max over phi
        x_real = data(config.batch_size, rng)
        z = torch.randn(config.batch_size, config.latent_dim, generator=rng, dtype=x_real.dtype)
        logits = discriminator(torch.cat([x_real, generator(z).detach()])).squeeze(-1)
        d_loss = discriminator_loss(*logits.split(config.batch_size))
        optimisers["discriminator"].zero_grad()
        d_loss.backward()
        optimisers["discriminator"].step()
        # generator: -log q^r(y=0|x), plain or importance-weighted
        z = torch.randn(config.batch_size, config.latent_dim, generator=rng, dtype=x_real.dtype)
        g_loss = generator_loss(discriminator(generator(z)).squeeze(-1), config.objective, config.k)
        optimisers["generator"].zero_grad()
        g_loss.backward()
        optimisers["generator"].step()
        _record(history, step, config.steps, log, checkpointer, stateful, rng, d_loss=d_loss.item(),
                g_loss=g_loss.item())
    return history


def train_gaussian_vae(encoder: nn.Module, decoder: nn.Module, data: DataSampler, config: VAEConfig,
                       rng: torch.Generator, log: ProgressLog | None = None,
                       checkpoint: Path | None = None) -> dict[str, list[float]]:
    """Adam ascent of the ELBO (:func:`latentebm.models.vae.elbo`, one reparameterised draw) with the decoder's
    noise ``config.sigma``. Returns the training ELBO by step {"elbo"}."""
    optimiser = adam([*encoder.parameters(), *decoder.parameters()], config.lr)
    stateful = {"encoder": encoder, "decoder": decoder, "optimiser": optimiser}
    checkpointer = _checkpointer(checkpoint, config)
    start, history = _resume(checkpointer, stateful, rng)
    for step in range(start + 1, config.steps + 1):
        x = data(config.batch_size, rng)
        value = elbo(encoder, decoder, x, config.sigma, rng).mean()
        optimiser.zero_grad()
        (-value).backward()
        optimiser.step()
        _record(history, step, config.steps, log, checkpointer, stateful, rng, elbo=value.item())
    return history


def vae_samples(decoder: nn.Module, latent_dim: int, n: int, rng: torch.Generator,
                sigma: float | None = None) -> Tensor:
    """n draws of the VAE's model: ``g(z)`` for ``z ~ N(0, I)``, plus ``N(0, sigma^2 I)`` noise (Gaussian
    decoder) or a Bernoulli draw (``sigma`` None: ``decoder`` returns logits). ``(n, D)``, no gradient."""
    weight = next(decoder.parameters())
    with torch.no_grad():
        out = decoder(torch.randn(n, latent_dim, generator=rng, dtype=weight.dtype, device=weight.device))
        if sigma is not None:
            return out + sigma * torch.randn(out.shape, generator=rng, dtype=out.dtype, device=out.device)
        return (torch.rand(out.shape, generator=rng, dtype=out.dtype, device=out.device)
                < torch.sigmoid(out)).to(out.dtype)


def train_aavae(encoder: nn.Module, decoder: nn.Module, discriminator: nn.Module, x_train: Tensor,
                config: AAVAEConfig, rng: torch.Generator, log: ProgressLog | None = None,
                checkpoint: Path | None = None) -> dict[str, list[float]]:
    """The VAE (``adversary_weight = 0``) or the AAVAE on ``x_train (N, D)``, intensities in [0, 1] binarised afresh
    every step. Per step: a batch; (AAVAE) the VAE's own binary samples, one discriminator update (real against
    them), then the VAE's update by :func:`aavae_loss`. ``decoder`` returns logits and has ``latent_dim`` (a
    :class:`latentebm.models.latent_generators.LatentGenerator` with ``output="linear"``). Returns {"elbo" (the
    real batch's), "d_loss", "weight" (the mean discriminator weight of the samples)} by step (the last two 0 for
    the plain VAE)."""
    adversarial = config.adversary_weight > 0
    vae_optimiser = adam([*encoder.parameters(), *decoder.parameters()], config.lr)
    d_optimiser = adam(discriminator.parameters(), config.discriminator_lr)
    stateful = {"encoder": encoder, "decoder": decoder, "discriminator": discriminator,
                "optimiser": vae_optimiser, "discriminator_optimiser": d_optimiser}
    checkpointer = _checkpointer(checkpoint, config)
    start, history = _resume(checkpointer, stateful, rng)
    for step in range(start + 1, config.steps + 1):
        # batch: a fresh binarisation of random training images
        x = binarise(x_train[torch.randint(len(x_train), (config.batch_size,), generator=rng)], rng)
        x_fake, d_loss = None, torch.zeros(())
        if adversarial:
            # the adversary: real against the VAE's own samples
            x_fake = vae_samples(decoder, decoder.latent_dim, config.batch_size, rng)
            d_loss = discriminator_loss(*discriminator(torch.cat([x, x_fake])).squeeze(-1).split(config.batch_size))
            d_optimiser.zero_grad()
            d_loss.backward()
            d_optimiser.step()
        # the VAE: its ELBO, plus the discriminator-weighted ELBO of its samples
        loss, real_elbo, weight = aavae_loss(encoder, decoder, discriminator, x, x_fake, config.adversary_weight,
                                             rng)
        vae_optimiser.zero_grad()
        loss.backward()
        vae_optimiser.step()
        _record(history, step, config.steps, log, checkpointer, stateful, rng, elbo=real_elbo.item(),
                d_loss=d_loss.item(), weight=weight.item())
    return history
