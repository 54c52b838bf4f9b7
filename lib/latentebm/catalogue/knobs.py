"""What a notebook parameter may be: :class:`Knob` (one notebook-specific parameter with a value per profile), the
checks of the four common parameters, and :class:`ParameterError`, the one error every bad value raises.

This module imports only the bottom floor (``runtime``, ``paths``): the catalogue's specs are built from it, and
:func:`latentebm.catalogue.resolve` (the one place that validates a notebook's parameters) checks with it.
``latentebm.parameters`` re-exports ``Knob`` and ``ParameterError``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from latentebm import paths, runtime

PROFILES = ("ci", "full")
DEVICES = ("auto", "cpu", "cuda")
COMMON = ("profile", "seed", "device", "output_dir")
"""the parameters every notebook takes, in the order its parameters cell sets them"""

INT_LIMIT = 2**63
"""whole-number knobs lie in (-2**63, 2**63): what torch and NumPy index with"""
EXACT_FLOAT = 2**53
"""beyond this a float is no exact whole number, so an int knob refuses it (``1e300`` is no step count)"""

KINDS = (int, float, bool, str, list)
ELEMENTS = (int, float, str)


class ParameterError(ValueError):
    """A notebook parameter is invalid; the message names it and says what is allowed."""


@dataclass(frozen=True)
class Knob:
    """One notebook-specific parameter with a value per profile.

    ``kind`` is ``int``, ``float``, ``bool``, ``str`` or ``list``; a list is non-empty and its entries are of kind
    ``element`` (``int``, ``float`` or ``str``; a comma-separated string is read as a list of strings).
    ``minimum``/``maximum`` bound numbers (and every entry of a list of numbers); ``multiple_of`` makes whole
    numbers multiples of it; ``choices`` restricts strings (and every entry of a list of strings). Numbers are
    finite: NaN and infinities are refused.
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
    multiple_of: int | None = None
    """whole numbers (``kind=int``, or a list with ``element=int``) must be multiples of this"""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TypeError(f"knob '{self.name}': kind must be one of {[k.__name__ for k in KINDS]}")
        if self.kind is list and self.element not in ELEMENTS:
            raise TypeError(f"knob '{self.name}': element must be one of {[k.__name__ for k in ELEMENTS]}")
        entry = self.element if self.kind is list else self.kind
        if self.choices is not None and entry is not str:
            raise TypeError(f"knob '{self.name}': choices apply to strings only")
        if self.multiple_of is not None and (entry is not int or self.multiple_of < 1):
            raise TypeError(f"knob '{self.name}': multiple_of is a positive whole number, for whole numbers only")

    def default(self, profile: str) -> Any:
        return self.ci if profile == "ci" else self.full

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to the knob's kind, or raise ParameterError naming the knob."""
        if self.kind is list:
            return self._check_list(value)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ParameterError(f"parameter '{self.name}' must be True or False, got {value!r}")
            return value
        if self.kind is str:
            return self._check_string(value)
        return self._check_number(value, self.kind)

    def _check_list(self, value: Any) -> list:
        entries = value
        if self.element is str and isinstance(value, str):
            entries = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(entries, list | tuple) or not entries:
            raise ParameterError(f"parameter '{self.name}' must be a non-empty list, got {value!r}")
        if self.element is str:
            return [self._check_string(entry) for entry in entries]
        return [self._check_number(entry, self.element) for entry in entries]

    def _check_string(self, value: Any) -> str:
        if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
            allowed = f"one of {list(self.choices)}" if self.choices is not None else "a string"
            entries = " (or a list of them)" if self.kind is list else ""
            raise ParameterError(f"parameter '{self.name}' must be {allowed}{entries}, got {value!r}")
        return value

    def _check_number(self, value: Any, kind: type) -> float | int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ParameterError(f"parameter '{self.name}' must be a number, got {value!r}")
        try:
            as_float = float(value)
        except OverflowError:  # a Python int beyond the floats
            as_float = math.inf if value > 0 else -math.inf
        if kind is int:
            number = _whole(value, as_float)
            if number is None:
                raise ParameterError(f"parameter '{self.name}' must be a whole number below 2**63, got {value!r}")
            if self.multiple_of is not None and number % self.multiple_of:
                raise ParameterError(f"parameter '{self.name}' must be a multiple of {self.multiple_of}, got {value!r}")
        else:
            if not math.isfinite(as_float):
                raise ParameterError(f"parameter '{self.name}' must be a finite number, got {value!r}")
            number = as_float
        if self.minimum is not None and number < self.minimum:
            raise ParameterError(f"parameter '{self.name}' must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and number > self.maximum:
            raise ParameterError(f"parameter '{self.name}' must be <= {self.maximum}, got {value!r}")
        return number


def _whole(value: numbers.Real, as_float: float) -> int | None:
    """``value`` as an int when it is exactly a whole number in (-2**63, 2**63), else ``None``."""
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif math.isfinite(as_float) and as_float.is_integer() and abs(as_float) <= EXACT_FLOAT:
        number = int(as_float)
    else:
        return None
    return number if -INT_LIMIT < number < INT_LIMIT else None


def check_profile(profile: Any) -> str:
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ParameterError(f"parameter 'profile' must be one of {list(PROFILES)}, got {profile!r}")
    return profile


def check_seed(seed: Any) -> int:
    """A root seed: a whole number in [0, ``runtime.SEED_LIMIT``) (what NumPy, torch and jax all accept)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < runtime.SEED_LIMIT:
        raise ParameterError(f"parameter 'seed' must be a whole number in [0, 2**32), got {seed!r}")
    return int(seed)


def check_device(device: Any) -> torch.device:
    if not isinstance(device, str) or device not in DEVICES:
        raise ParameterError(f"parameter 'device' must be one of {list(DEVICES)}, got {device!r}")
    if device == "cuda" and not runtime.cuda_available():
        raise ParameterError("parameter 'device' is 'cuda' but no CUDA device is visible to torch")
    return runtime.resolve_device(device)


def check_output_dir(output_dir: Any) -> Path:
    if not isinstance(output_dir, str | Path) or not str(output_dir):
        raise ParameterError(f"parameter 'output_dir' must be a path, got {output_dir!r}")
    return paths.resolve(output_dir)


CHECK_COMMON = {"profile": check_profile, "seed": check_seed, "device": check_device, "output_dir": check_output_dir}
"""the check of each common parameter, which returns its resolved value"""


def check_common(profile: Any, seed: Any, device: Any, output_dir: Any) -> tuple[str, int, torch.device, Path]:
    """The four common parameters, checked and resolved."""
    return check_profile(profile), check_seed(seed), check_device(device), check_output_dir(output_dir)
