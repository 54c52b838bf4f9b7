"""Sample quality of latent chains on an image GEBM: the Fréchet distance (classifier features, seed 001's
sample-quality metric) between held-out images and B(z) for the chains' latents ``z: (C, d)``.

The paper's relative FID is FD(GEBM samples) / FD(base alone); :func:`latent_frechet` gives the FD of any
batch of latents, so a notebook divides two of its values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from latentebm.metrics.frechet import extract_features, frechet_distance


def latent_frechet(base: Callable[[torch.Tensor], torch.Tensor], classifier: nn.Module,
                   reference_features: np.ndarray) -> Callable[[torch.Tensor], float]:
    """``z: (C, d) -> FD(reference, classifier features of B(z))``; ``inf`` when a chain has blown up (a
    non-finite image). ``reference_features: (N, k)`` from :func:`~latentebm.metrics.frechet.extract_features`."""

    def fd_of_latents(z: torch.Tensor) -> float:
        with torch.no_grad():
            x = base(z)
        if not torch.isfinite(x).all():
            return math.inf
        return frechet_distance(reference_features, extract_features(classifier, x))

    return fd_of_latents
