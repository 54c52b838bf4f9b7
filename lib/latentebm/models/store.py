"""Trained models saved by name under ``<output_dir>/models/<name>.pt`` so that later notebooks load them
instead of retraining (e.g. notebook 06 samples the GEBM trained in notebook 05).

A saved model is a :mod:`latentebm.checkfile`: the modules' weights (``{module_name: state_dict}``) with a
``config`` of plain values (numbers, strings, lists, dicts) from which the caller rebuilds the modules before
loading their weights, and a SHA-256 checksum over both. Loading uses ``torch.load(weights_only=True)``; an
empty, truncated or corrupted file, or one saved under another recipe than the caller expects, is one
:class:`StoreError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from torch import nn

from latentebm import checkfile

KIND = "saved model"


class StoreError(RuntimeError):
    """A saved model cannot be loaded: empty, truncated, corrupted, failing its checksum, saved under another
    recipe, or holding weights that do not fit the rebuilt modules. The message names the file."""


def model_path(output_dir: Path | str, name: str) -> Path:
    return Path(output_dir) / "models" / f"{name}.pt"


def save_model(output_dir: Path | str, name: str, modules: Mapping[str, nn.Module], config: Mapping[str, Any]) -> Path:
    """Write the modules' weights and the config needed to rebuild them (plain values), atomically."""
    state = {key: module.state_dict() for key, module in modules.items()}
    return checkfile.write(model_path(output_dir, name), {"state": state}, config, kind=KIND)


def load_model(output_dir: Path | str, name: str, build: Callable[[dict], Mapping[str, nn.Module]],
               expect: Mapping[str, Any] | None = None) -> tuple[dict[str, nn.Module], dict] | None:
    """Rebuild the modules with ``build(config)`` and load their weights; ``None`` if nothing is saved.

    ``expect`` (plain values: the recipe the caller would train with) must equal the saved ``config["recipe"]``,
    else the file is refused with a :class:`StoreError` naming it and the differing keys."""
    path = model_path(output_dir, name)
    if not path.is_file():
        return None
    payload, config = checkfile.read(path, StoreError, KIND)
    if expect is not None:
        if "recipe" not in config:
            raise StoreError(f"saved model {path} holds no recipe (its config has {sorted(config)}), so it cannot "
                             "be checked against this run's; delete it to retrain")
        saved = config["recipe"] if isinstance(config["recipe"], Mapping) else {"recipe": config["recipe"]}
        changed = checkfile.differences(saved, dict(expect))
        if changed:
            raise StoreError(f"saved model {path} was trained with another recipe (saved -> expected: "
                             f"{'; '.join(changed)}), so it is not loaded; delete it to retrain, or run with the "
                             "saved recipe")
    modules = dict(build(config))
    state = payload["state"]
    absent = sorted(set(modules) - set(state))
    if absent:
        raise StoreError(f"saved model {path} holds no weights for {absent} (it holds {sorted(state)})")
    for key, module in modules.items():
        try:
            module.load_state_dict(state[key])
        except RuntimeError as failure:
            raise StoreError(f"saved model {path}: the weights of '{key}' do not fit the module built from its "
                             f"config ({failure})") from None
    return modules, config
