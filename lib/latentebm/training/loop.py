"""Pieces every training loop shares.

- :class:`Checkpointer`: save every N steps, resume to the same state (loaded with ``weights_only=True``).
- the guard :func:`latentebm.guards.check_finite` (NaN, inf or a runaway value), used by every loop.
- :class:`ProgressLog`: one readable line every N steps, kept as a history for learning curves.
- :func:`maximise`: gradient ascent of a scalar objective over parameters, guarded and logged.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from latentebm.guards import check_finite


@dataclass
class ProgressLog:
    """Keeps ``history[name] = [values...]`` and prints one line every ``every`` steps to ``stream``."""

    every: int = 100
    stream: TextIO | None = None
    prefix: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    steps: list[int] = field(default_factory=list)
    _started: float = field(default_factory=time.perf_counter, repr=False)

    @classmethod
    def to_file(cls, path: Path | str, every: int = 100, prefix: str = "") -> ProgressLog:
        """A log that writes its lines to ``path`` (line-buffered), keeping notebook outputs short and stable."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(every=every, stream=path.open("a", buffering=1), prefix=prefix)

    def log(self, step: int, total: int, **values: float) -> None:
        self.steps.append(step)
        for name, value in values.items():
            self.history.setdefault(name, []).append(float(value))
        if self.every and (step % self.every == 0 or step == total):
            shown = "  ".join(f"{name} {float(value):.4g}" for name, value in values.items())
            elapsed = time.perf_counter() - self._started
            print(f"{self.prefix}step {step:>6d}/{total}  {shown}  ({elapsed:.0f} s)", file=self.stream or sys.stdout)


class Checkpointer:
    """Saves ``{name: state_dict}`` plus the step every ``every`` steps to ``path``; restores them on resume.

    Optimiser, module and RNG states all go through ``torch.save`` and come back through
    ``torch.load(weights_only=True)``, so resuming gives the same parameters as an uninterrupted run.
    """

    def __init__(self, path: Path | str, every: int) -> None:
        self.path = Path(path)
        self.every = every

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def save(self, step: int, stateful: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> None:
        state = {name: obj.state_dict() for name, obj in stateful.items()}
        state["step"] = step
        state["torch_rng"] = torch.get_rng_state()
        state["extra"] = dict(extra or {})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        torch.save(state, tmp)
        tmp.replace(self.path)

    def restore(self, stateful: Mapping[str, Any]) -> tuple[int, dict]:
        """Load the checkpoint into ``stateful`` if one exists; return (step to resume from, extra)."""
        if not self.path.is_file():
            return 0, {}
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        for name, obj in stateful.items():
            obj.load_state_dict(state[name])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"]), dict(state["extra"])


def maximise(
    objective: Callable[[], torch.Tensor],
    parameters: Iterable[torch.Tensor],
    steps: int,
    lr: float = 1e-2,
    log: ProgressLog | None = None,
) -> list[float]:
    """Adam ascent on ``objective()`` (a scalar tensor) for ``steps`` steps; return the objective's trace."""
    parameters = list(parameters)
    optimiser = torch.optim.Adam(parameters, lr=lr)
    trace = []
    for step in range(1, steps + 1):
        optimiser.zero_grad()
        value = objective()
        (-value).backward()
        optimiser.step()
        check_finite(step, objective=value.item())
        trace.append(value.item())
        if log is not None:
            log.log(step, steps, objective=value.item())
    return trace
