"""Step-size schedules for the samplers: constant, or cut by a factor every N steps.

The GEBM authors sample with kinetic Langevin at a small step cut by 10x every 200 steps
(``../shared/REFERENCE.md``); a constant step lets an unadjusted sampler drift or blow up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepSchedule:
    """h_k = h_0 * factor ** floor(k / every) at step k = 0, 1, ...; ``every = 0`` means constant h_0."""

    initial: float
    factor: float = 1.0
    every: int = 0

    def __call__(self, k: int) -> float:
        if self.every <= 0:
            return self.initial
        return self.initial * self.factor ** (k // self.every)


def constant(step_size: float) -> StepSchedule:
    return StepSchedule(step_size)


def step_decay(step_size: float, factor: float, every: int) -> StepSchedule:
    """Multiply the step by ``factor`` (e.g. 0.1) every ``every`` steps."""
    if not 0.0 < factor <= 1.0 or every < 1:
        raise ValueError(f"step_decay needs 0 < factor <= 1 and every >= 1, got factor={factor}, every={every}")
    return StepSchedule(step_size, factor, every)
