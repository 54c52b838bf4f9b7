"""The floor beneath every concept module: devices, dtype and threads, and named random streams.

Randomness is never global. A notebook's ``seed`` is the root of a tree of named streams,
``streams(seed).child("classifier", j)``; each node gives a ``torch.Generator`` (``.torch()``), a NumPy
generator (``.numpy()``) or a plain integer seed (``.int_seed()``) that depend only on the root seed and the
path of names, never on what was drawn before, on the machine or on the order cells run in. Networks are
initialised from a stream with :func:`initialised_from`, which leaves the global torch stream untouched.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

SEED_LIMIT = 2**32
"""Root seeds are whole numbers in [0, 2**32): what NumPy, torch and jax all accept."""


def cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(device: str) -> torch.device:
    """``"auto"`` picks ``cuda`` when a GPU is visible and the CPU otherwise; ``"cuda"`` requires one."""
    if device == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    return torch.device(device)


def setup(dtype: torch.dtype = torch.float32, threads: int | None = None) -> None:
    """Set the process-wide numerics once, at a notebook's start: default dtype, CPU threads (``None`` keeps
    torch's choice) and deterministic kernels where torch has them. Never reseeds anything."""
    torch.set_default_dtype(dtype)
    if threads is not None:
        torch.set_num_threads(threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def _key(part: str | int) -> int:
    """A name or index as a 32-bit word that is the same on every machine and Python (no hash())."""
    if isinstance(part, bool) or not isinstance(part, int | str):
        raise TypeError(f"stream names are strings or whole numbers, got {part!r}")
    if isinstance(part, int):
        if part < 0:
            raise ValueError(f"stream indices are non-negative, got {part}")
        return part % 2**32
    return zlib.crc32(part.encode("utf-8"))


@dataclass(frozen=True)
class Stream:
    """A node of the stream tree: the root ``seed`` and the ``path`` of names and indices below it."""

    seed: int
    path: tuple[str | int, ...] = ()

    def __post_init__(self) -> None:
        valid = isinstance(self.seed, int | np.integer) and not isinstance(self.seed, bool)
        if not valid or not 0 <= self.seed < SEED_LIMIT:
            raise ValueError(f"a root seed is a whole number in [0, 2**32), got {self.seed!r}")

    def child(self, *parts: str | int) -> Stream:
        """The stream named ``parts`` below this one: ``child("chains", k)`` is ``child("chains").child(k)``."""
        for part in parts:
            _key(part)
        return Stream(int(self.seed), self.path + tuple(parts))

    def sequence(self) -> np.random.SeedSequence:
        """The NumPy seed sequence of this node: entropy is the root seed, spawn key the encoded path."""
        return np.random.SeedSequence(int(self.seed), spawn_key=tuple(_key(part) for part in self.path))

    def int_seed(self) -> int:
        """A 63-bit integer seed for libraries that take one (jax, scikit-learn, torch.manual_seed)."""
        return int(self.sequence().generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1, 2**32]) % 2**63

    def torch(self, device: torch.device | str = "cpu") -> torch.Generator:
        """A fresh ``torch.Generator`` on ``device`` seeded from this node (the same draws every call)."""
        rng = torch.Generator(device=device)
        rng.manual_seed(self.int_seed())
        return rng

    def numpy(self) -> np.random.Generator:
        return np.random.default_rng(self.sequence())

    def __str__(self) -> str:
        return "/".join([str(self.seed), *map(str, self.path)])


def streams(seed: int) -> Stream:
    """The root of a run's random streams."""
    return Stream(int(seed))


def require_rng(rng: torch.Generator | None, what: str) -> torch.Generator:
    """``rng`` itself, or a ValueError naming ``what`` when it is None: nothing draws from the global stream."""
    if rng is None:
        raise ValueError(f"{what} draws random numbers: pass its random stream as rng (a torch.Generator)")
    return rng


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch stream seeded with the integer ``seed`` itself (for tests and closed-form checks)."""
    rng = torch.Generator(device=device)
    rng.manual_seed(int(seed))
    return rng


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Run a block under torch's default ``dtype`` and restore the notebook's afterwards: a recipe whose networks
    are float32 builds and trains them the same way in a float64 notebook."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextlib.contextmanager
def initialised_from(rng: torch.Generator | Stream) -> Iterator[None]:
    """Build networks inside this block to draw their initial weights from ``rng`` (a generator, from which one
    seed is drawn, or a stream); the global torch stream is saved and restored, so nothing outside is touched."""
    if isinstance(rng, Stream):
        seed = rng.int_seed()
    else:
        seed = int(torch.randint(0, 2**62, (1,), generator=rng, device=rng.device))
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # the CPU stream only: torch.manual_seed would reseed CUDA too
        yield
