"""The notebooks this companion holds, one module each (``nbNN_topic.py`` defining ``SPEC``).

A spec says which seed result the notebook derives, its knobs per profile, its headline metrics next to the
paper's numbers, and its key figures with the tolerances their saved arrays are regression-tested within.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

from latentebm.parameters import Knob, ParameterError


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
