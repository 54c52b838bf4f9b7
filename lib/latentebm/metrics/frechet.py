"""Fréchet distances between sample sets, on the features of a network (seed 001's sample-quality metric).

FD(a, b) = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^{1/2} S_b S_a^{1/2})^{1/2}) between Gaussians fitted to
two feature sets. The paper reports FID, where the features are Inception-v3's pool layer. Offline, the
features here are the penultimate layer of a small classifier that the package trains on the same data:
call that number "FD (classifier features)", never FID; its scale is not comparable to FID, but ratios
FD(GEBM) / FD(generator alone) are (in spirit) comparable to the paper's relative FID.

Interface (the classifiers of notebooks 05 and 06 come from ``experiments.gebm_images.feature_classifier``)::

    classifier = train_classifier(x_train, y_train, config, steps, rng)   # or a recipe's trained one
    f_data = extract_features(classifier, x_data)                     # x: (N, C, H, W) in [-1, 1] -> (N, k)
    fd = frechet_distance(f_data, extract_features(classifier, x_samples))
    scorer = FrechetScorer([classifier, ...], x_test)                 # one FD per classifier: scorer(x_samples)

:func:`inception_fid` (``full`` profile) needs the ``pytorch-fid`` package and its downloadable weights;
without them it raises a clear error instead of returning a number.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy

from latentebm.runtime import initialised_from


class FeatureClassifier(nn.Module):
    """Two 3x3 conv + max-pool blocks, adaptive pooling to 3x3, a ``feature_dim`` ReLU layer, a linear head.

    x: (B, C, H, W) -> logits (B, n_classes); :meth:`features` gives the (B, feature_dim) penultimate layer.
    """

    def __init__(self, channels: int = 1, n_classes: int = 10, width: int = 16, feature_dim: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.Linear(2 * width * 9, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_classifier(config: dict) -> dict[str, nn.Module]:
    """{"classifier": FeatureClassifier} from ``config`` keys ``channels``, ``n_classes``, ``width``,
    ``feature_dim`` (and ``image_shape``, informative); the form ``models.store.load_model`` expects."""
    return {"classifier": FeatureClassifier(int(config.get("channels", 1)), int(config.get("n_classes", 10)),
                                            int(config.get("width", 16)), int(config.get("feature_dim", 64)))}


def train_classifier(images: torch.Tensor, labels: torch.Tensor, config: dict, steps: int,
                     rng: torch.Generator, batch_size: int = 128, lr: float = 2e-3,
                     device: torch.device | str = "cpu") -> nn.Module:
    """Train a :class:`FeatureClassifier` by cross-entropy with Adam. images: (N, C, H, W), labels: (N,) long.

    The initial weights and the mini-batches both come from ``rng`` (the global torch stream is left as it
    was), so the same stream gives the same classifier whatever ran before."""
    with initialised_from(rng):
        model = build_classifier(config)["classifier"]
    model = model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=rng)
        loss = cross_entropy(model(images[idx].to(device)), labels[idx].to(device))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


@torch.no_grad()
def accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Fraction of ``images`` (N, C, H, W) whose arg-max class equals ``labels`` (N,)."""
    device = next(classifier.parameters()).device
    hits = sum((classifier(images[i:i + batch_size].to(device)).argmax(1).cpu() == labels[i:i + batch_size]).sum()
               for i in range(0, images.shape[0], batch_size))
    return float(hits) / images.shape[0]


@torch.no_grad()
def extract_features(classifier: nn.Module, images: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """Penultimate-layer features, images: (N, C, H, W) on the training scale -> float64 array (N, k)."""
    device = next(classifier.parameters()).device
    was_training = classifier.training
    classifier.eval()
    out = [classifier.features(images[i:i + batch_size].to(device)).double().cpu()
           for i in range(0, images.shape[0], batch_size)]
    classifier.train(was_training)
    return torch.cat(out).numpy()


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_frechet(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^{1/2} S_b S_a^{1/2})^{1/2}): W2^2 between two Gaussians."""
    root_a = _psd_sqrt(cov_a)
    cross = _psd_sqrt(root_a @ cov_b @ root_a)
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross))
    return max(value, 0.0)


def frechet_distance(features_a: Any, features_b: Any) -> float:
    """FD between Gaussians fitted (mean, unbiased covariance) to features_a: (N, k) and features_b: (M, k)."""
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    return gaussian_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def inception_fid(images_a: torch.Tensor, images_b: torch.Tensor, device: torch.device | str = "cpu",
                  batch_size: int = 100) -> float:
    """Inception FID (the paper's metric) through ``pytorch-fid``; images: (N, C, H, W) in [-1, 1].

    Grey images are repeated to three channels. Raises RuntimeError with what is missing when the package or
    its Inception weights (downloaded by the package on first use) cannot be had.
    """
    try:
        from pytorch_fid.inception import InceptionV3
    except ImportError as error:
        raise RuntimeError("Inception FID needs the 'pytorch-fid' package (pip install pytorch-fid), which is not "
                           "installed; the offline 'FD (classifier features)' is reported instead") from error
    try:
        model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).to(device).eval()
    except Exception as error:  # the weights download can fail in many ways (offline, proxy, checksum)
        raise RuntimeError(f"Inception FID: the Inception weights could not be obtained ({error}); "
                           "use 'FD (classifier features)' or provide network access") from error

    @torch.no_grad()
    def pool(images: torch.Tensor) -> np.ndarray:
        feats = []
        for i in range(0, images.shape[0], batch_size):
            x = (images[i:i + batch_size].to(device) + 1.0) / 2.0
            x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
            feats.append(model(x)[0].flatten(1).double().cpu())
        return torch.cat(feats).numpy()

    return frechet_distance(pool(images_a), pool(images_b))


def relative(fd_model: float, fd_base: float) -> float:
    """FD(model) / FD(base), the paper's "relative FID" form (nan when the base is 0)."""
    return fd_model / fd_base if fd_base > 0 else math.nan


class FrechetScorer:
    """FD (classifier features) of samples to fixed reference images, once per feature classifier: several
    classifiers, so that a ratio of FDs does not hinge on one classifier's initialisation."""

    def __init__(self, classifiers: list[nn.Module], reference: torch.Tensor) -> None:
        self.classifiers = list(classifiers)
        self.reference = [extract_features(c, reference) for c in self.classifiers]

    def __call__(self, images: torch.Tensor) -> list[float]:
        """[FD to the reference under classifier j for each j]; images: (N, C, H, W) on the training scale."""
        return [frechet_distance(ref, extract_features(c, images)) for c, ref in
                zip(self.classifiers, self.reference, strict=True)]
