"""Reuse notebook 05's trained MNIST GEBM and feature classifier in later notebooks, training them here (with
the same functions and settings as notebook 05) when a user runs a later notebook alone.

Notebook 05 saves ``"05_gebm_mnist"`` ({"generator", "energy"}) and ``"05_mnist_classifier"`` through
:mod:`latentebm.models.store` under its ``output_dir``; in CI notebooks run in order, so 06 finds them there.
What is trained here is not saved under notebook 05's names: only notebook 05 writes those.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from latentebm.models.store import load_model

CLASSIFIER_CONFIG = {"channels": 1, "n_classes": 10, "width": 16, "feature_dim": 64}


def frozen(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with gradients off for its weights (samplers differentiate in z only)."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def mnist_gebm(output_dir: Path | str, seed: int, device: torch.device | str, train_steps: int,
               log=None) -> tuple[dict[str, nn.Module], dict, str]:
    """Notebook 05's GEBM from ``output_dir``, or trained now; returns (modules, config, where it came from)."""
    from latentebm.models.gebm import build_gebm
    from latentebm.training.gebm import train_gebm_mnist_ci

    loaded = load_model(output_dir, "05_gebm_mnist", build_gebm)
    if loaded is not None:
        modules, config = loaded
        origin = "loaded from notebook 05"
    else:
        result = train_gebm_mnist_ci(output_dir, seed=seed, device=device, steps=train_steps, log=log, save=False)
        modules, config = result["modules"], result["config"]
        origin = f"trained here ({train_steps} steps; notebook 05's model was missing)"
    return {name: frozen(module.to(device)) for name, module in modules.items()}, config, origin


def mnist_test_split(config: dict, seed: int, n_test: int = 1000):
    """The held-out MNIST images of notebook 05's split ((x_train, y_train), (x_test, y_test)), same seed."""
    from latentebm.data.images import mnist_subset, shuffled_split

    images, labels = mnist_subset(int(config["data_shape"][-1]))
    split_seed = config.get("split_seed", config.get("seed", seed))
    return shuffled_split(images, labels, n_test, torch.Generator().manual_seed(int(split_seed)))


def mnist_classifier(output_dir: Path | str, train: tuple[torch.Tensor, torch.Tensor], seed: int,
                     device: torch.device | str, steps: int) -> tuple[nn.Module, str]:
    """Notebook 05's feature classifier, or one trained now on ``train`` = (images, labels)."""
    from latentebm.metrics.frechet import build_classifier, train_classifier

    loaded = load_model(output_dir, "05_mnist_classifier", build_classifier)
    if loaded is not None:
        return frozen(loaded[0]["classifier"].to(device)), "loaded from notebook 05"
    # the same random stream as notebook 05 (seed + 5), so this classifier is the one notebook 05 saves
    classifier = train_classifier(train[0], train[1], CLASSIFIER_CONFIG, steps, torch.Generator().manual_seed(seed + 5),
                                  device=device)
    return frozen(classifier), f"trained here ({steps} steps; notebook 05's classifier was missing)"
