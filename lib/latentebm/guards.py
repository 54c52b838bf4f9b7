"""Guards every loop and solver shares: stop with one clear message on NaN, inf or a runaway value."""

from __future__ import annotations

import math


class DivergenceError(RuntimeError):
    """Training produced a non-finite or runaway value; the message says which, at which step."""


def check_finite(step: int, limit: float = 1e6, **values: float) -> None:
    """Raise DivergenceError if any named value is NaN/inf or exceeds ``limit`` in magnitude."""
    for name, value in values.items():
        value = float(value)
        if not math.isfinite(value):
            raise DivergenceError(f"step {step}: {name} is {value}; training diverged (lower the learning rate?)")
        if abs(value) > limit:
            raise DivergenceError(f"step {step}: |{name}| = {abs(value):.3g} exceeds {limit:.3g}; training diverged")
