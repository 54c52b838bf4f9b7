"""Notebook parameters: the two profiles, the knobs of each notebook, and their validation.

A notebook's ``parameters`` cell sets ``profile``, ``seed``, ``device``, ``output_dir`` and its own knobs, the
knobs defaulting to ``None`` ("take the profile's value"). :func:`configure` validates everything *before any
compute* and raises :class:`ParameterError` with one message naming the offending parameter.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from latentebm import paths, runtime

PROFILES = ("ci", "full")
DEVICES = ("auto", "cpu", "cuda")
COMMON = ("profile", "seed", "device", "output_dir")


class ParameterError(ValueError):
    """A notebook parameter is invalid; the message names it and says what is allowed."""


@dataclass(frozen=True)
class Knob:
    """One notebook-specific parameter with a value per profile.

    ``kind`` is ``int``, ``float``, ``bool``, ``str`` or ``list`` (a list of numbers); ``minimum``/``maximum``
    bound numbers (and every entry of a list); ``choices`` restricts strings.
    """

    name: str
    ci: Any
    full: Any
    help: str
    kind: type = int
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    element: type = float
    """kind of each entry when ``kind`` is ``list``"""

    def default(self, profile: str) -> Any:
        return self.ci if profile == "ci" else self.full

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to the knob's kind, or raise ParameterError naming the knob."""
        if self.kind is list:
            if not isinstance(value, list | tuple) or not value:
                raise ParameterError(f"parameter '{self.name}' must be a non-empty list, got {value!r}")
            return [self._check_number(v, self.element) for v in value]
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ParameterError(f"parameter '{self.name}' must be True or False, got {value!r}")
            return value
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                allowed = f"one of {list(self.choices)}" if self.choices else "a string"
                raise ParameterError(f"parameter '{self.name}' must be {allowed}, got {value!r}")
            return value
        return self._check_number(value, self.kind)

    def _check_number(self, value: Any, kind: type) -> float | int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ParameterError(f"parameter '{self.name}' must be a number, got {value!r}")
        if kind is int and int(value) != value:
            raise ParameterError(f"parameter '{self.name}' must be a whole number, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ParameterError(f"parameter '{self.name}' must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ParameterError(f"parameter '{self.name}' must be <= {self.maximum}, got {value!r}")
        return kind(value)


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


def _looks_like_parameter(name: str, value: Any) -> bool:
    """A plain value bound at top level of a notebook (what papermill injects); IPython's own names are not."""
    if name.startswith("_") or name in {"In", "Out", "exit", "quit", "get_ipython"}:
        return False
    return isinstance(value, bool | int | float | str | list | tuple | type(None))


def check_common(profile: Any, seed: Any, device: Any, output_dir: Any) -> tuple[str, int, torch.device, Path]:
    if profile not in PROFILES:
        raise ParameterError(f"parameter 'profile' must be one of {list(PROFILES)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"parameter 'seed' must be a non-negative whole number, got {seed!r}")
    if device not in DEVICES:
        raise ParameterError(f"parameter 'device' must be one of {list(DEVICES)}, got {device!r}")
    if device == "cuda" and not runtime.cuda_available():
        raise ParameterError("parameter 'device' is 'cuda' but no CUDA device is visible to torch")
    if not isinstance(output_dir, str | Path) or not str(output_dir):
        raise ParameterError(f"parameter 'output_dir' must be a path, got {output_dir!r}")
    return profile, seed, runtime.resolve_device(device), paths.resolve(output_dir)


def configure(notebook: str, namespace: Mapping[str, Any]) -> Params:
    """Validate and resolve a notebook's parameters from its top-level namespace, then set the numerics.

    ``namespace`` is the notebook's ``globals()`` right after the parameters cell (and papermill's injected
    cell): a plain value there whose name is no parameter of this notebook is an unknown knob and an error.
    Knobs left at ``None`` take the profile's value. The spec's default dtype and CPU threads are set here, once
    (threads only on the CPU); nothing is seeded: randomness comes from ``params.streams``.
    """
    from latentebm import catalogue

    spec = catalogue.get(notebook)
    values = {name: value for name, value in namespace.items() if _looks_like_parameter(name, value)}
    known = set(COMMON) | {knob.name for knob in spec.knobs}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParameterError(
            f"unknown parameter '{unknown[0]}' for notebook {notebook}; it takes {sorted(known)}"
        )
    missing = [name for name in COMMON if name not in values]
    if missing:
        raise ParameterError(f"parameter '{missing[0]}' is not set in the parameters cell of {notebook}")
    profile, seed, device, output_dir = check_common(*(values[name] for name in COMMON))
    knobs = {}
    for knob in spec.knobs:
        value = values.get(knob.name)
        knobs[knob.name] = knob.check(knob.default(profile) if value is None else value)
    runtime.setup(getattr(torch, spec.dtype), spec.threads if device.type == "cpu" else None)
    return Params(notebook, profile, seed, device, output_dir, knobs)
