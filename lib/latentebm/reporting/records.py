"""Headline metrics, key-figure arrays and run records, each written atomically under ``output_dir``.

Layout under ``<output_dir>``::

    metrics/<notebook>.json          {"notebook", "profile", "seed", "metrics": {name: number}}
    runs/<notebook>.json             resolved parameters, package versions, git revision, time
    figures/<notebook>/<key>.npz     arrays behind a key figure (regression-tested against tests/baselines)
    figures/<notebook>/<key>.png     the figure itself
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from latentebm import paths

RECORDED_PACKAGES = ("torch", "numpy", "scipy", "matplotlib", "jax", "numpyro", "arviz", "scikit-learn")


def atomic_write(path: Path, write) -> Path:
    """Write through a temporary file in the same folder and rename it over ``path`` on success only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports and metrics are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, payload: Any) -> Path:
    text = json.dumps(payload, indent=2, sort_keys=False) + "\n"
    return atomic_write(Path(path), lambda tmp: tmp.write_text(text))


def metrics_path(output_dir: Path, notebook: str) -> Path:
    return Path(output_dir) / "metrics" / f"{notebook}.json"


def figure_arrays_path(output_dir: Path, notebook: str, key: str) -> Path:
    return Path(output_dir) / "figures" / notebook / f"{key}.npz"


def _as_number(name: str, value: Any) -> float | int:
    number = value.item() if hasattr(value, "item") else value
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise TypeError(f"metric '{name}' must be a number, got {value!r}")
    if isinstance(number, float) and not math.isfinite(number):
        return number  # recorded honestly (e.g. KL = inf on disjoint supports); JSON writes Infinity
    return number


def record_metrics(params, metrics: Mapping[str, Any]) -> dict:
    """Write ``<output_dir>/metrics/<notebook>.json`` and the run record beside it; return the payload."""
    payload = {
        "notebook": params.notebook,
        "profile": params.profile,
        "seed": params.seed,
        "metrics": {name: _as_number(name, value) for name, value in metrics.items()},
    }
    write_json_atomic(metrics_path(params.output_dir, params.notebook), payload)
    write_json_atomic(Path(params.output_dir) / "runs" / f"{params.notebook}.json", run_record(params))
    return payload


def metric_lines(spec, metrics: Mapping[str, Any]) -> list[str]:
    """What a notebook displays of its metrics: three significant figures, except that a metric named in
    ``spec.roundoff`` shows only whether it meets its bound (``"fd_rel_error < 1e-06: True"``); then one line per
    claim of the spec with its count over seeds and its verdict."""
    lines = []
    for name, value in metrics.items():
        number = float(_as_number(name, value))
        if name in spec.roundoff:
            lines.append(f"{name} < {spec.roundoff[name]:g}: {abs(number) < spec.roundoff[name]}")
        else:
            lines.append(f"{name}: {number:.3g}")
    return lines + [claim.line(metrics) for claim in spec.claims]


def record_claim(metrics: dict, key: str, held: Any) -> None:
    """Count a claim over seeds into ``metrics``: ``held`` is one boolean per seed (any array-like)."""
    held = [bool(h) for h in np.asarray(held).ravel()]
    metrics[f"{key}_holds"], metrics[f"{key}_seeds"] = sum(held), len(held)


def show_metrics(params, metrics: Mapping[str, Any]) -> dict:
    """Record ``metrics`` (:func:`record_metrics`, full precision) and print the lines of :func:`metric_lines`:
    the last cell of every notebook. Returns the recorded payload without displaying it."""
    from latentebm import catalogue

    payload = record_metrics(params, metrics)
    print("\n".join(metric_lines(catalogue.get(params.notebook), metrics)))
    return payload


def load_metrics(output_dir: Path, notebook: str) -> dict | None:
    path = metrics_path(output_dir, notebook)
    return json.loads(path.read_text()) if path.is_file() else None


def save_figure(params, key: str, figure, arrays: Mapping[str, Any]):
    """Save the arrays behind a key figure (``.npz``) and the figure (``.png``); return the figure.

    Returning it lets a notebook cell end with ``save_figure(...)`` so the figure shows inline.
    """
    target = figure_arrays_path(params.output_dir, params.notebook, key)
    clean = {name: np.asarray(value) for name, value in arrays.items()}

    def write_npz(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, **clean)

    atomic_write(target, write_npz)
    atomic_write(target.with_suffix(".png"), lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    return figure


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.repository_root(), capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def run_record(params) -> dict:
    return {
        "parameters": params.as_dict(),
        "versions": package_versions(),
        "git_revision": git_revision(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
