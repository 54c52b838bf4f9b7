"""Noise levels beta_n for the particle flows' noise injection and diffusion (seed 001, post-credit slide).

Arbel, Korba, Salim & Gretton (NeurIPS 2019) evaluate the witness gradient at x + beta_n u, u ~ N(0, I), and need
sum_n beta_n^2 = infinity (with beta_n -> 0 for the noise to vanish in the limit) to escape the plain flow's
stationary points. Three schedules, indexed by the step n = 0, 1, ...:

- ``constant``:  beta_n = beta_0                                  (sum beta^2 infinite, beta_n does not vanish)
- ``inverse_sqrt``: beta_n = beta_0 / sqrt(1 + n / scale)         (sum beta^2 infinite, beta_n -> 0)
- ``halving``:   beta_n = beta_0 * 2^(-floor(n / every))           (sum beta^2 finite: the authors' default)
- ``none``:      beta_n = 0                                        (the plain flow)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("none", "constant", "inverse_sqrt", "halving")


@dataclass(frozen=True)
class NoiseSchedule:
    """beta_n of step n; ``scale`` is the n of ``inverse_sqrt``'s knee, ``every`` the halving period."""

    kind: str = "none"
    beta0: float = 0.0
    scale: float = 1.0
    every: int = 1000

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"noise schedule kind must be one of {KINDS}, got {self.kind!r}")
        if not (self.beta0 >= 0 and math.isfinite(self.beta0)):
            raise ValueError(f"beta0 must be finite and >= 0, got {self.beta0}")
        if not self.scale > 0 or self.every < 1:
            raise ValueError(f"scale must be > 0 and every >= 1, got scale={self.scale}, every={self.every}")

    def __call__(self, n: int) -> float:
        if self.kind == "none":
            return 0.0
        if self.kind == "constant":
            return self.beta0
        if self.kind == "inverse_sqrt":
            return self.beta0 / math.sqrt(1.0 + n / self.scale)
        return self.beta0 * 0.5 ** (n // self.every)

    @property
    def square_summable(self) -> bool:
        """Whether sum_n beta_n^2 is finite (the divergence condition fails), in closed form per kind."""
        return self.kind in ("none", "halving") or self.beta0 == 0.0

    def sum_squares(self, steps: int) -> float:
        """sum_{n < steps} beta_n^2, summed exactly."""
        return math.fsum(self(n) ** 2 for n in range(steps))


def none() -> NoiseSchedule:
    return NoiseSchedule()


def constant(beta: float) -> NoiseSchedule:
    return NoiseSchedule("constant", beta)


def inverse_sqrt(beta0: float, scale: float = 1.0) -> NoiseSchedule:
    return NoiseSchedule("inverse_sqrt", beta0, scale=scale)


def halving(beta0: float, every: int) -> NoiseSchedule:
    return NoiseSchedule("halving", beta0, every=every)
