"""Trained models saved by name under ``<output_dir>/models/<name>.pt`` so that later notebooks load them
instead of retraining (e.g. notebook 06 samples the GEBM trained in notebook 05).

A saved model is ``{"config": {...}, "state": {module_name: state_dict}}``; ``config`` holds plain values
(numbers, strings, lists) from which the caller rebuilds the modules before loading their weights.
Loading uses ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn


def model_path(output_dir: Path | str, name: str) -> Path:
    return Path(output_dir) / "models" / f"{name}.pt"


def save_model(output_dir: Path | str, name: str, modules: Mapping[str, nn.Module], config: Mapping[str, Any]) -> Path:
    """Write the modules' weights and the config needed to rebuild them, atomically."""
    path = model_path(output_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config": dict(config), "state": {key: module.state_dict() for key, module in modules.items()}}
    tmp = path.with_suffix(".pt.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_model(output_dir: Path | str, name: str,
               build: Callable[[dict], Mapping[str, nn.Module]]) -> tuple[dict[str, nn.Module], dict] | None:
    """Rebuild the modules with ``build(config)``, load their weights; ``None`` if nothing is saved."""
    path = model_path(output_dir, name)
    if not path.is_file():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    modules = dict(build(payload["config"]))
    for key, module in modules.items():
        module.load_state_dict(payload["state"][key])
    return modules, payload["config"]
