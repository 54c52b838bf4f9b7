"""Device choice and seeding, shared by every notebook and training loop."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(device: str) -> torch.device:
    """``"auto"`` picks ``cuda`` when a GPU is visible and the CPU otherwise; ``"cuda"`` requires one."""
    if device == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a NumPy generator for explicit use.

    Deterministic kernels are requested where torch has them (``warn_only`` keeps ops without one usable).
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- libraries that draw from NumPy's global stream
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch random stream of its own, for samplers that take their randomness explicitly."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
