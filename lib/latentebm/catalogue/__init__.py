"""The notebooks this companion holds, one module each (``nbNN_topic.py`` defining ``SPEC``), and the one
validation of their parameters.

A spec says which seed result the notebook derives, its knobs per profile, its headline metrics next to the
paper's numbers, and its key figures with the tolerances their saved arrays are regression-tested within.
:func:`resolve` checks a notebook's parameter values against its spec (``parameters.configure`` and the
pipeline's overrides both go through it); :mod:`.knobs` defines :class:`Knob` and :class:`ParameterError`.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentebm.catalogue.knobs import CHECK_COMMON, COMMON, Knob, ParameterError

__all__ = ["Claim", "Headline", "KeyFigure", "Knob", "NotebookSpec", "ParameterError", "all_specs", "get", "resolve"]


@dataclass(frozen=True)
class Headline:
    """A headline number: its metric key, what it means, and the paper's value (or closed form) beside it."""

    metric: str
    label: str
    paper: str = "—"


@dataclass(frozen=True)
class Claim:
    """A paper's claim, judged on each of several seeds by a criterion stated before the run.

    The notebook records two metrics, ``<key>_holds`` (the seeds on which the criterion held) and
    ``<key>_seeds`` (the seeds tried); :meth:`verdict` reads them. A claim is *reproduced* when it held on at least
    the fraction ``need`` of the seeds, *not reproduced* when it failed on that fraction, and *mixed* between.
    """

    key: str
    statement: str
    """the claim, in the paper's terms"""
    criterion: str
    """what decides it on one seed, in the notebook's measured quantities"""
    paper: str = "—"
    need: float = 0.8

    def counts(self, metrics: Mapping[str, Any]) -> tuple[int, int] | None:
        held, seeds = metrics.get(f"{self.key}_holds"), metrics.get(f"{self.key}_seeds")
        return None if held is None or not seeds else (int(held), int(seeds))

    def needed(self, seeds: int) -> int:
        """The seeds a verdict needs out of ``seeds``: ceil(need * seeds), immune to round-off in the product."""
        return math.ceil(self.need * seeds - 1e-9)

    def verdict(self, metrics: Mapping[str, Any]) -> str:
        counts = self.counts(metrics)
        if counts is None:
            return "not measured"
        held, seeds = counts
        if held >= self.needed(seeds):
            return "reproduced"
        if seeds - held >= self.needed(seeds):
            return "not reproduced"
        return "mixed"

    def line(self, metrics: Mapping[str, Any]) -> str:
        """``"claim <key>: holds in k of n seeds (reproduced at >= 4): reproduced"``."""
        counts = self.counts(metrics)
        if counts is None:
            return f"claim {self.key}: not measured"
        return (f"claim {self.key}: holds in {counts[0]} of {counts[1]} seeds (reproduced at >= "
                f"{self.needed(counts[1])}): "
                f"{self.verdict(metrics)}")


@dataclass(frozen=True)
class KeyFigure:
    """A figure whose arrays are saved and compared with ``tests/baselines`` within ``rtol``/``atol``."""

    key: str
    caption: str
    rtol: float = 1e-6
    atol: float = 1e-6


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    title: str
    derives: str
    knobs: tuple[Knob, ...] = ()
    headlines: tuple[Headline, ...] = ()
    claims: tuple[Claim, ...] = ()
    """claims judged over seeds (their counts are metrics; show_metrics prints the verdicts)"""
    figures: tuple[KeyFigure, ...] = field(default_factory=tuple)
    dtype: str = "float32"
    """torch's default dtype for the whole notebook, set once by ``configure`` ("float32" or "float64")"""
    threads: int | None = None
    """CPU threads for the whole notebook, set once by ``configure`` (``None``: torch's choice)"""
    roundoff: dict[str, float] = field(default_factory=dict)
    """metrics at round-off level: ``{metric: bound}``; shown only as the bound they meet (their digits depend on
    the BLAS kernel and thread count), while the metrics JSON keeps the full value"""

    def knob(self, name: str) -> Knob:
        for knob in self.knobs:
            if knob.name == name:
                return knob
        raise KeyError(name)


def all_specs() -> list[NotebookSpec]:
    """Every notebook spec, in notebook order."""
    specs = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("nb"):
            specs.append(importlib.import_module(f"{__name__}.{module.name}").SPEC)
    return sorted(specs, key=lambda spec: spec.name)


def get(name: str) -> NotebookSpec:
    for spec in all_specs():
        if spec.name == name:
            return spec
    raise ParameterError(f"no notebook named {name!r}; known: {[s.name for s in all_specs()]}")


def resolve(name: str, values: Mapping[str, Any], required: Sequence[str] = COMMON) -> dict[str, Any]:
    """Check the parameter ``values`` of notebook ``name`` and return them resolved, or raise ParameterError.

    ``values`` maps parameter names to values (a parameters cell, with papermill's injected values, or a
    pipeline's overrides). A name that is no parameter of the notebook is an error, and so is a missing one of
    ``required`` (``profile`` is always required: the knobs' defaults depend on it). The common parameters given
    come back resolved (``seed`` an int, ``device`` a ``torch.device``, ``output_dir`` an absolute path), and
    every knob comes back checked: its value, or the profile's when it is ``None`` or absent.
    """
    spec = get(name)
    known = set(COMMON) | {knob.name for knob in spec.knobs}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParameterError(f"unknown parameter '{unknown[0]}' for notebook {name}; it takes {sorted(known)}")
    missing = [key for key in ("profile", *required) if key not in values]
    if missing:
        raise ParameterError(f"parameter '{missing[0]}' is not set for notebook {name}")
    resolved = {key: check(values[key]) for key, check in CHECK_COMMON.items() if key in values}
    for knob in spec.knobs:
        value = values.get(knob.name)
        resolved[knob.name] = knob.check(knob.default(resolved["profile"]) if value is None else value)
    return resolved
