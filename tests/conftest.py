"""Shared fixtures: seeded random streams (np_rng, rng), deterministic torch, and fresh ci outputs of a notebook."""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from latentebm import paths

matplotlib.use("Agg")
SESSION_STARTED = time.time()
_EXECUTED: dict[str, Path] = {}


@pytest.fixture(autouse=True)
def deterministic_torch():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    previous = torch.get_default_dtype()
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def np_rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def rng() -> torch.Generator:
    """A torch random stream of the test's own (the package calls every torch.Generator ``rng``)."""
    g = torch.Generator()
    g.manual_seed(12345)
    return g


def fresh_ci_output(notebook: str, tmp_root: Path) -> Path:
    """The output dir of a ci run of ``notebook`` made during this test session.

    nbval runs the notebooks first (``pytest notebooks tests``) and writes to ``build/ci``; if that run is
    missing or older than this session, the notebook is executed here with papermill.
    """
    default = paths.resolve("build/ci")
    record = default / "runs" / f"{notebook}.json"
    if record.is_file() and record.stat().st_mtime >= SESSION_STARTED:
        return default
    if notebook not in _EXECUTED:  # once per session, however many of its figures are checked
        from latentebm.reporting.pipeline import execute

        execute(notebook, "ci", tmp_root)
        _EXECUTED[notebook] = tmp_root
    return _EXECUTED[notebook]
