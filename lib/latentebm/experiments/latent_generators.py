"""Recipe: the latent generator models of notebook 08 (seed 002: arXiv 1606.08571, 1912.01909) on digits.

What is trained: a top-down generator ``x = g(z) + eps`` by short-run learning (K gradient-ascent steps from the
prior, s re-tuned by the KL objective) and by alternating back-propagation (persistent Langevin chains), and a VAE
with the same decoder (:mod:`latentebm.training.abp`); then evaluated on held-out images by short-run inference
(:func:`held_out_error`, :func:`tuned_s`, :func:`method_table`).

:data:`RECIPES` holds one frozen :class:`Recipe` per profile: every default of these runs in one place (the
notebook's catalogue spec offers them as knobs, with these values). A trained model's identity is its
:class:`GeneratorModel` or :class:`VAEModel` (images and split, architecture, learning settings, stream name)
and its run stream; models are saved in :mod:`latentebm.models.store` under ``<kind>-<digest>`` and loaded when
the identity matches (:func:`latentebm.experiments.train_or_load`).

Random streams below the notebook's root ``root``: ``root/<images.stream>`` (the train/test permutation);
``root/<model.stream>/<index>`` the run stream of a model (``index`` tells training seeds apart), with
``.../init`` (initial weights) and ``.../train`` (minibatches, chains, tuning batches, noise) below it.
Evaluation draws come from streams the caller names (a fresh generator per call gives common random numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from latentebm import experiments
from latentebm.data import images_latent
from latentebm.experiments import checkpoint_path, labelled
from latentebm.metrics.frechet import frechet_distance
from latentebm.models.latent_generators import LatentGenerator, log_joint, reconstruction_error
from latentebm.models.vae import Encoder, reconstruct
from latentebm.runtime import Stream, initialised_from
from latentebm.samplers.inference import unrolled_map
from latentebm.training.abp import (
    LearningConfig,
    LearningRun,
    short_run_infer,
    train_generator,
    train_vae,
    tune_step_size,
)
from latentebm.training.loop import ProgressLog


@dataclass(frozen=True)
class Images:
    """An image set of :mod:`latentebm.data.images_latent` and its held-out split: ``n_test`` images by a
    permutation drawn from ``root/<stream>``."""

    dataset: str
    n_test: int
    stream: str = "split"


@dataclass(frozen=True)
class GeneratorModel:
    """A :class:`LatentGenerator` learned by ``learning.method`` (``"short_run"`` or ``"abp"``) on ``images``."""

    images: Images
    latent_dims: tuple[int, ...]
    hidden: int
    learning: LearningConfig
    dtype: str
    stream: str


@dataclass(frozen=True)
class VAEModel:
    """An :class:`Encoder` and a :class:`LatentGenerator` decoder learned by the ELBO on ``images``."""

    images: Images
    latent_dims: tuple[int, ...]
    hidden: int
    learning: LearningConfig
    dtype: str
    stream: str = "vae"


@dataclass(frozen=True)
class Recipe:
    """Every setting of notebook 08's learning runs on images (knob names)."""

    dataset: str
    n_test: int
    latent_dims: tuple[int, ...]
    layered_dims: tuple[int, ...]
    hidden: int
    sigma: float
    train_steps: int
    batch_size: int
    lr: float
    n_steps: int
    abp_langevin_steps: int
    s_init: float
    tune_every: int
    tune_grid: tuple[float, ...]
    tune_batch: int
    vae_steps: int
    # fixed settings (no knob)
    tune_gradient_steps: int = 5
    tune_lr: float = 0.1
    dtype: str = "float32"

    def images(self) -> Images:
        return Images(self.dataset, self.n_test)

    def learning(self, method: str, **changes: Any) -> LearningConfig:
        """The learning settings of ``method`` (``"short_run"``, ``"abp"``, ``"vae"``): ABP advances its chains
        ``abp_langevin_steps`` Langevin steps per visit at a fixed s, short-run runs K gradient steps and re-tunes
        s every ``tune_every`` steps; the VAE learns for ``vae_steps``. ``changes`` replace fields."""
        short = method == "short_run"
        settings = dict(method=method, steps=self.vae_steps if method == "vae" else self.train_steps,
                        batch_size=self.batch_size, lr=self.lr, sigma=self.sigma,
                        n_steps=self.n_steps if short else self.abp_langevin_steps, s=self.s_init,
                        tune_every=self.tune_every if short else 0, tune_grid=tuple(self.tune_grid),
                        tune_gradient_steps=self.tune_gradient_steps, tune_lr=self.tune_lr,
                        tune_batch=self.tune_batch)
        return LearningConfig(**{**settings, **changes})

    def generator_model(self, method: str, latent_dims: tuple[int, ...] | None = None,
                  record_grid: bool = True) -> GeneratorModel:
        """The generator model learned by ``method``, with ``latent_dims`` (default: the one-layer model's)."""
        dims = tuple(latent_dims or self.latent_dims)
        return GeneratorModel(self.images(), dims, self.hidden, self.learning(method, record_grid=record_grid),
                              self.dtype, method)

    def vae_model(self) -> VAEModel:
        return VAEModel(self.images(), tuple(self.latent_dims), self.hidden, self.learning("vae"), self.dtype)


RECIPES: dict[str, Recipe] = {
    "ci": Recipe(dataset="digits", n_test=300, latent_dims=(8,), layered_dims=(2, 6), hidden=64, sigma=0.15,
                 train_steps=300, batch_size=100, lr=2e-3, n_steps=25, abp_langevin_steps=10, s_init=0.1,
                 tune_every=100, tune_grid=(0.05, 0.1, 0.15, 0.2, 0.3, 0.4), tune_batch=16, vae_steps=300),
    "full": Recipe(dataset="mnist", n_test=10000, latent_dims=(32,), layered_dims=(4, 8, 16), hidden=512,
                   sigma=0.15, train_steps=20000, batch_size=128, lr=1e-3, n_steps=25, abp_langevin_steps=30,
                   s_init=0.05, tune_every=1000, tune_grid=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4), tune_batch=64,
                   vae_steps=20000),
}


def recipe(profile: str, knobs: Mapping[str, Any] | None = None) -> Recipe:
    """The profile's recipe with the entries of ``knobs`` named like a field of :class:`Recipe` replacing it
    (lists become tuples; other entries are ignored: a notebook passes all its knobs)."""
    return experiments.with_knobs(RECIPES[profile], knobs)


def load_images(images: Images, root: Stream, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """``(x_train (N - n_test, D), x_test (n_test, D))``, float32 in [0, 1] on ``device``."""
    pixels, _ = images_latent.load(images.dataset)
    return images_latent.split(pixels, images.n_test, root.child(images.stream).numpy(), device)


def _kind(model: GeneratorModel | VAEModel) -> str:
    return f"latent-{model.images.dataset}-{model.stream}-{'x'.join(map(str, model.latent_dims))}"


def train_or_load_generator(model: GeneratorModel, x_train: Tensor, root: Stream, index: int,
                            output_dir: Path | str, log: ProgressLog | None = None,
                            checkpoint_every: int = 0) -> LearningRun:
    """The generator of ``model`` learned on ``x_train`` (:func:`load_images` of ``model.images``, on the
    device to train on) from the run stream ``root/<model.stream>/<index>``, or loaded from the store; the
    returned run holds the network on ``x_train``'s device and the curves (the persistent chains only when
    trained now)."""
    run, kind, dtype = root.child(model.stream, index), _kind(model), getattr(torch, model.dtype)
    holder: dict[str, LearningRun] = {}

    def build(model: GeneratorModel) -> dict:
        with initialised_from(run.child("init")):
            return {"net": LatentGenerator(model.latent_dims, x_train.shape[1], model.hidden, dtype=dtype)}

    def train(modules: Mapping) -> dict:
        checkpoint = checkpoint_path(output_dir, f"{kind}-{experiments.digest(model, run)}", checkpoint_every)
        holder["run"] = train_generator(modules["net"].to(x_train.device), x_train, model.learning,
                                        run.child("train").torch(x_train.device), labelled(log, kind, run), checkpoint,
                                        checkpoint_every)
        return holder["run"].history()

    trained = experiments.train_or_load(kind, model, run, output_dir, build, train)
    net = trained.modules["net"].to(x_train.device)
    info = trained.info
    z_bank = holder["run"].z_bank if "run" in holder else None
    return LearningRun(net, model.learning, info["s"], info["loss"], info["tune_steps"], info["s_gradient"],
                       info["s_grid"], z_bank)


def train_or_load_vae(model: VAEModel, x_train: Tensor, root: Stream, output_dir: Path | str,
                      log: ProgressLog | None = None) -> tuple[Encoder, LatentGenerator, list[float]]:
    """The VAE of ``model`` learned on ``x_train`` from the run stream ``root/<model.stream>/0``, or loaded:
    ``(encoder, decoder, negative ELBO per pixel by step)``."""
    run, kind, dtype = root.child(model.stream, 0), _kind(model), getattr(torch, model.dtype)

    def build(model: VAEModel) -> dict:
        with initialised_from(run.child("init")):
            encoder = Encoder(x_train.shape[1], sum(model.latent_dims), model.hidden, dtype=dtype)
            decoder = LatentGenerator(model.latent_dims, x_train.shape[1], model.hidden, dtype=dtype)
        return {"encoder": encoder, "decoder": decoder}

    def train(modules: Mapping) -> dict:
        encoder, decoder = modules["encoder"].to(x_train.device), modules["decoder"].to(x_train.device)
        return {"neg_elbo": train_vae(encoder, decoder, x_train, model.learning,
                                      run.child("train").torch(x_train.device), labelled(log, kind, run))}

    trained = experiments.train_or_load(kind, model, run, output_dir, build, train)
    encoder, decoder = (trained.modules[k].to(x_train.device) for k in ("encoder", "decoder"))
    return encoder, decoder, trained.info["neg_elbo"]


def held_out_error(net: LatentGenerator, x: Tensor, s: float, sigma: float, n_steps: int, rng: torch.Generator,
                   mask: Tensor | None = None, target_mask: Tensor | None = None) -> float:
    """Per-pixel squared error of ``g(z_K)`` against ``x (B, D)``, ``z_K`` inferred from ``x`` by ``n_steps``
    of short-run inference at ``s`` from prior draws of ``rng`` (the likelihood restricted to ``mask``), over
    the pixels of ``target_mask`` (all by default)."""
    z = short_run_infer(net, x, sigma, s, n_steps, rng, mask=mask)
    with torch.no_grad():
        return reconstruction_error(x, net(z), target_mask)


def reconstruction_curve(net: LatentGenerator, x: Tensor, grid: np.ndarray, sigma: float, n_steps: int,
                         stream: Stream) -> np.ndarray:
    """:func:`held_out_error` at each ``s`` of ``grid``, every point from the same prior draws (``stream``)."""
    return np.array([held_out_error(net, x, float(s), sigma, n_steps, stream.torch(x.device)) for s in grid])


def tuned_s(run: LearningRun, x: Tensor, n_steps: int, rng: torch.Generator) -> tuple[float, float]:
    """``(s by gradient, s by grid)`` minimising KL(q_s || p(z|x)) for the learned model of ``run`` on the
    images ``x (B, D)`` with ``n_steps`` short-run steps, the gradient search from the run's final s."""
    config = dataclasses.replace(run.config, n_steps=n_steps)
    return tune_step_size(run.net, x, config, run.s, rng)


def logdet_estimates(net: LatentGenerator, x: Tensor, sigma: float, s: float, n_steps: int, z_rng: torch.Generator,
                     probe_rng: torch.Generator, n_probes: int = 16, n_terms: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``log|det dF_s/dz_0|`` of the short-run map of each image of ``x (B, D)`` from prior draws of ``z_rng``:
    exactly and by the Hutchinson power series (``n_probes`` Rademacher probes from ``probe_rng``)."""
    z0 = net.prior(x.shape[0], z_rng)
    s_tensor = torch.tensor(s, dtype=x.dtype, device=x.device)

    def joint(z: Tensor) -> Tensor:
        return log_joint(net, x, z, sigma)

    exact = unrolled_map(joint, z0, s_tensor, n_steps).logdet.detach().cpu().numpy()
    estimate = unrolled_map(joint, z0, s_tensor, n_steps, logdet="hutchinson", n_probes=n_probes, n_terms=n_terms,
                            rng=probe_rng).logdet.detach().cpu().numpy()
    return exact, estimate


def occlusion_masks(x: Tensor, side: int, hidden_rows: int | None = None) -> tuple[Tensor, Tensor]:
    """``(visible, hidden)`` 0/1 masks like ``x (B, side*side)``: the bottom ``hidden_rows`` rows of each image
    hidden (default: 3/8 of them, rounded down)."""
    rows = (3 * side) // 8 if hidden_rows is None else hidden_rows
    visible = torch.ones_like(x)
    visible.view(-1, side, side)[:, side - rows:, :] = 0
    return visible, 1 - visible


def method_table(generators: Mapping[str, tuple[LearningRun, float]], vae: tuple[Encoder, LatentGenerator],
                 x: Tensor, side: int, n_steps: int, eval_stream: Stream, sample_stream: Stream,
                 ) -> dict[str, tuple[float, float, float]]:
    """Per model ``(reconstruction MSE, inpainting MSE on the hidden pixels, pixel-space Frechet distance of
    its samples to x)`` on held-out images ``x``.

    ``generators`` maps a name to ``(run, s)``: the model infers z by short-run inference at ``s`` from prior
    draws of ``eval_stream`` (the same for every model and task); for inpainting from the visible pixels only
    (:func:`occlusion_masks`). The VAE (``(encoder, decoder)``, last row) uses its encoder's mean, on the image
    with the hidden pixels set to 0. Samples ``g(z)``, ``z ~ N(0, I)``, come from ``sample_stream``."""
    visible, hidden = occlusion_masks(x, side)
    reference = x.cpu().numpy()
    rows = {}
    for name, (run, s) in generators.items():
        sigma = run.config.sigma
        recon = held_out_error(run.net, x, s, sigma, n_steps, eval_stream.torch(x.device))
        inpaint = held_out_error(run.net, x, s, sigma, n_steps, eval_stream.torch(x.device), visible, hidden)
        with torch.no_grad():
            samples = run.net.sample(len(x), sample_stream.torch(x.device)).cpu().numpy()
        rows[name] = (recon, inpaint, frechet_distance(samples, reference))
    encoder, decoder = vae
    with torch.no_grad():
        samples = decoder.sample(len(x), sample_stream.torch(x.device)).cpu().numpy()
        rows["VAE"] = (reconstruction_error(x, reconstruct(encoder, decoder, x)),
                       reconstruction_error(x, reconstruct(encoder, decoder, x * visible), hidden),
                       frechet_distance(samples, reference))
    return rows
