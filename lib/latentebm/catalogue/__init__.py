"""The notebooks this companion holds, one module each (``nbNN_topic.py`` defining ``SPEC``), and the one
validation of their parameters.

A spec says which seed result the notebook derives, its knobs per profile, its headline metrics next to the
paper's numbers, and its key figures with the tolerances their saved arrays are regression-tested within.
:func:`resolve` checks a notebook's parameter values against its spec (``parameters.configure`` and the
pipeline's overrides both go through it); :mod:`.knobs` defines :class:`Knob` and :class:`ParameterError`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentebm.catalogue.claims import Check, Claim, Comparison, Verdict
from latentebm.catalogue.knobs import CHECK_COMMON, COMMON, Knob, ParameterError

__all__ = ["Check", "Claim", "Comparison", "Headline", "KeyFigure", "Knob", "NotebookSpec", "ParameterError", "Verdict",
           "all_specs", "get", "resolve"]


@dataclass(frozen=True)
class Headline:
    """A headline number: its metric key, what it means, and the paper's value (or closed form) beside it."""

    metric: str
    label: str
    paper: str = "—"


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
    comparisons: tuple[Comparison, ...] = ()
    """our numbers against the paper's or a closed form, judged by the index"""
    figures: tuple[KeyFigure, ...] = field(default_factory=tuple)
    thumbnail: str = ""
    """the key figure the index shows as the notebook's thumbnail (default: the first of ``figures``)"""
    dtype: str = "float32"
    """torch's default dtype for the whole notebook, set once by ``configure`` ("float32" or "float64")"""
    threads: int | None = None
    """CPU threads for the whole notebook, set once by ``configure`` (``None``: torch's choice)"""
    roundoff: dict[str, float] = field(default_factory=dict)
    """metrics at round-off level: ``{metric: bound}``; shown only as the bound they meet (their digits depend on
    the BLAS kernel and thread count), while the metrics JSON keeps the full value"""

    @property
    def key_figure(self) -> KeyFigure | None:
        """The figure of the index's thumbnail: ``thumbnail`` if named, else the first key figure."""
        chosen = [f for f in self.figures if f.key == self.thumbnail] or list(self.figures[:1])
        if self.thumbnail and chosen[0].key != self.thumbnail:
            raise ValueError(f"{self.name}: thumbnail {self.thumbnail!r} is none of its key figures")
        return chosen[0] if chosen else None

    @property
    def all_claims(self) -> tuple[Claim | Comparison, ...]:
        """every claim the index judges: those counted over seeds, then the comparisons"""
        return (*self.claims, *self.comparisons)

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
