"""Recipes: the floor between the notebooks and the training loops.

One module per trained thing a notebook needs. Each holds a frozen recipe per profile (networks, training
settings, named random streams: every default in one place) and a ``train_or_load`` built on
:func:`train_or_load` here, which saves the recipe with the model in :mod:`latentebm.models.store` and refuses
to load a model saved under the same name with another recipe.

- :mod:`.gebm_toys`: the toy GEBM, its generator and the EBM with a density of notebook 05.
- :mod:`.gebm_images`: the image GEBM and the feature classifiers of notebooks 05 and 06.
- :mod:`.realnvp`: the Real NVP flows and the energies on them of notebook 07 (toy and UCI tables).
- :mod:`.latent_generators`: the generators of notebook 08 (ABP, short-run inference, the VAE baseline).
- :mod:`.ml_ebms`: the convergent and non-convergent EBMs of notebook 10 (toys and digits) and their evaluations.
- :mod:`.iw_autoencoders`: the VAEs and IWAEs of notebook 17 on binarised digits, and their test NLL.
- :mod:`.unifying`: the GANs, IWGANs and VAEs on a 2-D mixture and the VAE and AAVAE on digits of notebook 18.
- :mod:`.gebm_sampling`: scoring an image GEBM's samplers against its generator (notebooks 05 and 06).
- :mod:`.parallel`: train several seeds side by side in worker processes (each job trains one model and saves it).

A model's identity is its recipe *and* the random stream it was trained from (``Stream`` path, e.g.
``0/gebm_images/train/1``); the store name carries a digest of both, so runs with other knobs or seeds never
overwrite each other, and a notebook that needs another notebook's model finds it by recomputing the name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from latentebm.checkfile import plain
from latentebm.models.store import load_model, save_model
from latentebm.runtime import Stream
from latentebm.training.loop import ProgressLog


def identity(recipe: Any, stream: Stream) -> dict:
    """What makes a trained model this one: the recipe (plain values) and the stream it was trained from."""
    return {"recipe": plain(recipe), "stream": str(stream)}


def digest(recipe: Any, stream: Stream) -> str:
    """A short, stable digest of :func:`identity` (sorted JSON, SHA-256), for store names."""
    text = json.dumps(identity(recipe, stream), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def with_knobs(recipe: Any, knobs: Mapping[str, Any] | None) -> Any:
    """``recipe`` (a frozen dataclass) with the entries of ``knobs`` named like one of its fields replacing them
    (lists become tuples; other entries are ignored, so a notebook may pass all its knobs)."""
    names = {f.name for f in dataclasses.fields(recipe)}
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in (knobs or {}).items() if k in names}
    return dataclasses.replace(recipe, **changes)


def checkpoint_path(output_dir: Path | str, name: str, every: int) -> Path | None:
    """Where the training checkpoint of the model ``name`` (a store name, digest included) lives; ``None`` when
    the recipe checkpoints nothing (``every`` = 0)."""
    return Path(output_dir) / "checkpoints" / f"{name}.pt" if every else None


def labelled(log: ProgressLog | None, kind: str, stream: Stream) -> ProgressLog | None:
    """``log`` with its lines prefixed by the model being trained (its kind and random stream)."""
    if log is not None:
        log.prefix = f"{kind} {stream}: "
    return log


@dataclass
class Trained:
    """A model from :func:`train_or_load`: its modules (eval mode), what training returned (plain values, e.g.
    learning curves), the store name, and whether it was ``"trained"`` now or ``"loaded"``."""

    modules: dict[str, nn.Module]
    info: dict
    name: str
    origin: str


def train_or_load(kind: str, recipe: Any, stream: Stream, output_dir: Path | str,
                  build: Callable[[Any], Mapping[str, nn.Module]],
                  train: Callable[[Mapping[str, nn.Module]], Mapping[str, Any]], *, save: bool = True) -> Trained:
    """The model ``kind`` trained by ``recipe`` from ``stream``: loaded from ``output_dir`` when saved there with
    this exact recipe and stream, else built by ``build(recipe)`` and trained by ``train(modules)`` (which
    returns plain values to keep with the model) and saved. A file under the same name whose recipe differs is
    refused by the store, never silently loaded."""
    name = f"{kind}-{digest(recipe, stream)}"
    expected = identity(recipe, stream)
    loaded = load_model(output_dir, name, lambda config: build(recipe), expect=expected)
    if loaded is not None:
        modules, config = loaded
        return Trained({k: m.eval() for k, m in modules.items()}, dict(config.get("info", {})), name, "loaded")
    modules = dict(build(recipe))
    info = plain(dict(train(modules)))
    if save:
        save_model(output_dir, name, modules, {"recipe": expected, "info": info})
    return Trained({k: m.eval() for k, m in modules.items()}, info, name, "trained")
