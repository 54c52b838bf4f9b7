"""Notebook parameters: :func:`configure` reads a notebook's parameters from its namespace and returns
:class:`Params`, the resolved run settings.

A notebook's ``parameters`` cell sets ``profile``, ``seed``, ``device``, ``output_dir`` and its own knobs, the
knobs defaulting to ``None`` ("take the profile's value"). :func:`configure` validates everything *before any
compute*, through :func:`latentebm.catalogue.resolve` (the one validation, which the pipeline's overrides also
go through), and raises :class:`ParameterError` with one message naming the offending parameter.
``Knob``, ``ParameterError`` and the names of the profiles, devices and common parameters are defined in
:mod:`latentebm.catalogue.knobs` and re-exported here.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from latentebm import catalogue, runtime
from latentebm.catalogue.knobs import COMMON, DEVICES, PROFILES, Knob, ParameterError, check_common

__all__ = ["COMMON", "DEVICES", "PROFILES", "Knob", "ParameterError", "Params", "check_common", "configure"]


@dataclass
class Params:
    """Resolved parameters of one notebook run; knobs are read as attributes (``params.n_samples``)."""

    notebook: str
    profile: str
    seed: int
    device: torch.device
    output_dir: Path
    knobs: dict[str, Any] = field(default_factory=dict)

    @property
    def streams(self) -> runtime.Stream:
        """The root of this run's named random streams: ``params.streams.child("classifier", j).torch()``."""
        return runtime.streams(self.seed)

    def __getattr__(self, name: str) -> Any:
        knobs = self.__dict__.get("knobs", {})
        if name in knobs:
            return knobs[name]
        raise AttributeError(f"notebook '{self.__dict__.get('notebook')}' has no parameter '{name}'")

    def as_dict(self) -> dict[str, Any]:
        common = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "knobs"}
        common["device"] = str(self.device)
        common["output_dir"] = str(self.output_dir)
        return {**common, **self.knobs}


IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
PLAIN = (bool, numbers.Number, str, bytes, list, tuple, dict, set, frozenset, type(None))
"""what a parameter value can be: papermill injects Python literals (numbers, strings, lists, dicts, None)"""


def _looks_like_parameter(name: str, value: Any) -> bool:
    """A plain value bound at top level of a notebook (what papermill injects); IPython's own names are not.

    Containers of every literal kind count, a dict included (``-y "iw_repeats: {a: 1}"`` injects one): such a
    value then fails its knob's check, or is an unknown parameter, instead of being silently ignored."""
    if name.startswith("_") or name in IPYTHON_NAMES:
        return False
    return isinstance(value, PLAIN)


def configure(notebook: str, namespace: Mapping[str, Any]) -> Params:
    """Validate and resolve a notebook's parameters from its top-level namespace, then set the numerics.

    ``namespace`` is the notebook's ``globals()`` right after the parameters cell (and papermill's injected
    cell): a plain value there whose name is no parameter of this notebook is an unknown knob and an error.
    Knobs left at ``None`` take the profile's value. The spec's default dtype and CPU threads are set here, once
    (threads only on the CPU); nothing is seeded: randomness comes from ``params.streams``.
    """
    values = {name: value for name, value in namespace.items() if _looks_like_parameter(name, value)}
    resolved = catalogue.resolve(notebook, values, required=COMMON)
    spec = catalogue.get(notebook)
    profile, seed, device, output_dir = (resolved.pop(name) for name in COMMON)
    runtime.setup(getattr(torch, spec.dtype), spec.threads if device.type == "cpu" else None)
    return Params(notebook, profile, seed, device, output_dir, resolved)
