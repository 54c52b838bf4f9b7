"""Claims and the verdicts the code derives for them from a run's metrics (never typed in).

Two kinds, one interface (``key``, ``statement``, ``criterion``, ``paper``, ``source``, :meth:`judge`):

- :class:`Claim`: a claim that depends on training, decided on each of several seeds by a criterion fixed before
  the run; the notebook counts the seeds it held on (``<key>_holds`` of ``<key>_seeds``). Reproduced when it held
  on at least the fraction ``need``, not reproduced when it failed on that fraction, mixed between.
- :class:`Comparison`: our number(s) against the paper's or a closed form, by :class:`Check`\\ s: reproduced
  when every check of ``checks`` holds; reproduced in direction only when those fail but every check of
  ``direction`` (a weaker statement: the sign, the order of two methods) holds; not reproduced otherwise. When the
  paper's number was measured on other data (``differs`` says how), its size is not compared: the verdict comes
  from ``direction`` alone, and is "not comparable" when there is none.

A claim whose metrics are absent is "not measured"; one measured only by another profile (``profile="full"``)
says so. :data:`GROUPS` sorts the verdicts into the index's summary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REPRODUCED, DIRECTION, MIXED, NOT = "reproduced", "reproduced in direction only", "mixed", "not reproduced"
NOT_COMPARABLE, NOT_MEASURED = "not comparable", "not measured"
GROUPS = {REPRODUCED: "reproduced", DIRECTION: "partly", MIXED: "partly", NOT: "not reproduced",
          NOT_COMPARABLE: "not comparable", NOT_MEASURED: "not run"}
"""verdict -> the summary's column"""


@dataclass(frozen=True)
class Verdict:
    level: str
    reason: str

    @property
    def group(self) -> str:
        return GROUPS[self.level]


def number(value: float | int | None) -> str:
    """How the index writes a number: four significant figures, ∞, or "not run" for a missing value."""
    if value is None:
        return "not run"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def shown(name: str, value: float | None, roundoff: Mapping[str, float] | None = None) -> str:
    """A metric as the index shows it: a round-off metric that meets its bound only as that bound (its digits
    depend on the BLAS and thread count), any other value by :func:`number`."""
    bound = (roundoff or {}).get(name)
    if bound is not None and value is not None and abs(value) < bound:
        return f"< {bound:g}"
    return number(value)




OPS = {
    "<": lambda a, b, tol: a < b, ">": lambda a, b, tol: a > b,
    "≤": lambda a, b, tol: a <= b, "≥": lambda a, b, tol: a >= b,
    "≈": lambda a, b, tol: abs(a - b) <= tol, "≠": lambda a, b, tol: abs(a - b) > tol,
}


@dataclass(frozen=True)
class Check:
    """``metric op reference``, the reference being ``factor * value`` (``value`` a number or another metric's
    name): op ``<``, ``>``, ``≤``, ``≥``, ``≈`` (``|metric - reference| <= tol``) or ``≠`` (``> tol``).
    ``absolute`` compares ``|metric|``."""

    metric: str
    op: str
    value: float | str
    tol: float = 0.0
    absolute: bool = False
    factor: float = 1.0

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"check on {self.metric}: op must be one of {sorted(OPS)}, got {self.op!r}")

    def metrics(self) -> tuple[str, ...]:
        return (self.metric, self.value) if isinstance(self.value, str) else (self.metric,)

    def reference(self, metrics: Mapping[str, Any]) -> float:
        value = float(metrics[self.value]) if isinstance(self.value, str) else float(self.value)
        return self.factor * value

    def holds(self, metrics: Mapping[str, Any]) -> bool:
        ours = float(metrics[self.metric])
        return bool(OPS[self.op](abs(ours) if self.absolute else ours, self.reference(metrics), self.tol))

    def text(self, metrics: Mapping[str, Any] | None = None, roundoff: Mapping[str, float] | None = None) -> str:
        """The check in words, with our value (only its bound when it is a round-off metric) when ``metrics``."""
        name = f"|{self.metric}|" if self.absolute else self.metric
        reference = self.value if isinstance(self.value, str) else number(self.value)
        reference = reference if self.factor == 1.0 else f"{number(self.factor)} × {reference}"
        wanted = {"≈": f"within {number(self.tol)} of {reference}",
                  "≠": f"more than {number(self.tol)} away from {reference}"}.get(self.op, f"{self.op} {reference}")
        if metrics is None:
            return f"{name} {wanted}"
        answer = "yes" if self.holds(metrics) else "no"
        ours = float(metrics[self.metric])
        value = shown(self.metric, abs(ours) if self.absolute else ours, roundoff)
        if value.startswith("<"):  # a round-off metric within its bound: the check says all there is to say
            return f"{name} {wanted}: {answer}"
        return f"{name} = {value} {wanted}: {answer}"


@dataclass(frozen=True)
class Claim:
    """A claim that depends on training, counted over seeds (see the module docstring)."""

    key: str
    statement: str
    """the claim, in the paper's terms"""
    criterion: str
    """what decides it on one seed, in the notebook's measured quantities"""
    paper: str = "—"
    need: float = 0.8
    source: str = ""
    """where the paper states it (seed and slide or section)"""
    profile: str | None = None
    """the one profile that measures it (``None``: every profile)"""

    def __post_init__(self) -> None:
        if not 0.5 < self.need <= 1.0:
            raise ValueError(f"claim {self.key}: need must be in (0.5, 1] (else it could be reproduced and not "
                             f"reproduced at once), got {self.need}")

    def counts(self, metrics: Mapping[str, Any]) -> tuple[int, int] | None:
        held, seeds = metrics.get(f"{self.key}_holds"), metrics.get(f"{self.key}_seeds")
        if held is None or not seeds:
            return None
        if held != int(held) or seeds != int(seeds) or not 0 <= held <= seeds:
            raise ValueError(f"claim {self.key}: {held!r} of {seeds!r} seeds is not a count")
        return int(held), int(seeds)

    def needed(self, seeds: int) -> int:
        """The seeds a verdict needs out of ``seeds``: ceil(need * seeds), immune to round-off in the product."""
        return math.ceil(self.need * seeds - 1e-9)

    def judge(self, metrics: Mapping[str, Any], roundoff: Mapping[str, float] | None = None,
              profile: str | None = None) -> Verdict:
        """The verdict on ``metrics`` (``roundoff`` is unused: counts have no digits to hide); on a ``profile``
        other than the claim's own, not measured."""
        if _elsewhere(self, profile):
            return _elsewhere(self, profile)
        counts = self.counts(metrics)
        if counts is None:
            return Verdict(NOT_MEASURED, "no counts recorded")
        held, seeds = counts
        reason = f"held on {held} of {seeds} seeds (a verdict needs {self.needed(seeds)})"
        if held >= self.needed(seeds):
            return Verdict(REPRODUCED, reason)
        return Verdict(NOT if seeds - held >= self.needed(seeds) else MIXED, reason)

    def verdict(self, metrics: Mapping[str, Any]) -> str:
        return self.judge(metrics).level

    def numbers(self, metrics: Mapping[str, Any], roundoff: Mapping[str, float] | None = None) -> str:
        """``"4 of 5 seeds"`` (``roundoff`` unused, as in :meth:`judge`)."""
        counts = self.counts(metrics)
        return "—" if counts is None else f"{counts[0]} of {counts[1]} seeds"

    def line(self, metrics: Mapping[str, Any]) -> str:
        """``"claim <key>: holds in k of n seeds (reproduced at >= 4): reproduced"``."""
        counts = self.counts(metrics)
        if counts is None:
            return f"claim {self.key}: not measured"
        return (f"claim {self.key}: holds in {counts[0]} of {counts[1]} seeds (reproduced at >= "
                f"{self.needed(counts[1])}): {self.verdict(metrics)}")


@dataclass(frozen=True)
class Comparison:
    """Our numbers against the paper's or a closed form (see the module docstring)."""

    key: str
    statement: str
    checks: tuple[Check, ...] = ()
    direction: tuple[Check, ...] = ()
    paper: str = "—"
    source: str = ""
    differs: str = ""
    """how the paper's data or measure differ from ours ("" when the numbers are comparable)"""
    profile: str | None = None
    shows: tuple[str, ...] = ()
    """further metrics shown beside the checked ones (e.g. a spread over seeds)"""

    def __post_init__(self) -> None:
        if not self.checks and not self.direction and not self.differs:
            raise ValueError(f"comparison {self.key}: give checks, a direction, or why it is not comparable")
        if self.differs and self.checks:
            raise ValueError(f"comparison {self.key}: its size is not comparable ({self.differs}); check only "
                             "its direction")

    @property
    def criterion(self) -> str:
        parts = []
        if self.checks:
            parts.append("reproduced if " + " and ".join(c.text() for c in self.checks))
        if self.direction:
            parts.append("in direction if " + " and ".join(c.text() for c in self.direction))
        if self.differs:
            parts.append(f"size not comparable: {self.differs}")
        return "; ".join(parts)

    def metrics_checked(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for check in (*self.checks, *self.direction) for name in check.metrics()))

    def metrics_used(self) -> tuple[str, ...]:
        """The metrics checked, then those only shown beside them."""
        return tuple(dict.fromkeys([*self.metrics_checked(), *self.shows]))

    def judge(self, metrics: Mapping[str, Any], roundoff: Mapping[str, float] | None = None,
              profile: str | None = None) -> Verdict:
        """The verdict on ``metrics``; not measured when a checked metric is absent or NaN, or on a ``profile``
        other than the claim's own."""
        if _elsewhere(self, profile):
            return _elsewhere(self, profile)
        absent = [name for name in self.metrics_checked() if metrics.get(name) is None]
        if absent:
            return Verdict(NOT_MEASURED, f"no value for {absent[0]}")
        undefined = [name for name in self.metrics_checked() if math.isnan(float(metrics[name]))]
        if undefined:
            return Verdict(NOT_MEASURED, f"{undefined[0]} is NaN")
        if self.checks:
            failed = [c for c in self.checks if not c.holds(metrics)]
            if not failed:
                return Verdict(REPRODUCED, "; ".join(c.text(metrics, roundoff) for c in self.checks))
            reason = f"fails {failed[0].text(metrics, roundoff)}"
        else:
            reason = f"size not comparable ({self.differs})" if self.differs else ""
        if not self.direction:
            return Verdict(NOT if self.checks else NOT_COMPARABLE, reason)
        wrong = [c for c in self.direction if not c.holds(metrics)]
        shown = "; ".join(c.text(metrics, roundoff) for c in (wrong[:1] or self.direction))
        return Verdict(NOT if wrong else DIRECTION, f"{reason}; direction: {shown}" if reason else shown)

    def verdict(self, metrics: Mapping[str, Any]) -> str:
        return self.judge(metrics).level

    def numbers(self, metrics: Mapping[str, Any], roundoff: Mapping[str, float] | None = None) -> str:
        """Our values of the metrics it uses (only the bound of a round-off metric)."""
        values = [(name, shown(name, metrics[name], roundoff)) for name in self.metrics_used()
                  if metrics.get(name) is not None]
        return "; ".join(f"{name} {v}" if v.startswith("<") else f"{name} = {v}" for name, v in values) or "—"


def _elsewhere(claim: Claim | Comparison, profile: str | None) -> Verdict | None:
    """Not measured here: the claim belongs to another profile than the one judged."""
    if claim.profile and profile and claim.profile != profile:
        return Verdict(NOT_MEASURED, f"measured by the {claim.profile} profile only; not yet run")
    return None
