"""Pieces every training loop shares.

- :class:`Checkpointer`: save every N steps, resume to the same state, random streams included; a checked file
  (checksum and config inside, ``weights_only=True``), so a broken or foreign checkpoint is one
  :class:`CheckpointError` naming the file.
- the guard :func:`latentebm.guards.check_finite` (NaN, inf or a runaway value), used by every loop.
- :class:`ProgressLog`: one readable line every N steps, kept as a history for learning curves, and a progress
  bar on a terminal (:func:`show_bars`): never under papermill, nbval or in a log file, where it would only add
  noise and unstable output.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from latentebm import checkfile

PROGRESS_ENV = "LATENTEBM_PROGRESS"


def show_bars() -> bool:
    """Progress bars on when stderr is a terminal, or when ``LATENTEBM_PROGRESS=1`` asks for them (``=0``: off).

    A notebook kernel's stderr is not a terminal, so notebooks run by papermill or nbval, and the main job's logs,
    stay free of them."""
    asked = os.environ.get(PROGRESS_ENV)
    if asked is not None:
        return asked == "1"
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@dataclass
class ProgressLog:
    """Keeps ``history[name] = [values...]`` and prints one line every ``every`` steps to ``stream``."""

    every: int = 100
    stream: TextIO | None = None
    prefix: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    steps: list[int] = field(default_factory=list)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    _bar: Any = field(default=None, repr=False)

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
        self._advance(step, total)

    def _advance(self, step: int, total: int) -> None:
        """Move the terminal's progress bar (made on the first step when :func:`show_bars`) to ``step``."""
        if self._bar is None:
            if not show_bars():
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=self.prefix.strip() or "training", leave=False, dynamic_ncols=True)
        self._bar.update(step - self._bar.n)
        if step >= total:
            self._bar.close()


@contextmanager
def log_file(path: Path | str | None, every: int = 100, prefix: str = "") -> Iterator[ProgressLog | None]:
    """:meth:`ProgressLog.to_file` for the duration of a ``with`` block, the file closed at its end; ``None``
    (no log) when ``path`` is ``None``."""
    if path is None:
        yield None
        return
    log = ProgressLog.to_file(path, every, prefix)
    try:
        yield log
    finally:
        log.stream.close()


class CheckpointError(RuntimeError):
    """A checkpoint cannot be resumed from: empty, truncated, corrupted, failing its checksum, written under
    another config, or missing a state asked for. The message names the file and says what is wrong."""


class Checkpointer:
    """Saves ``{name: state_dict}``, the step, ``extra`` and the states of the given random streams every
    ``every`` steps to ``path`` (a :mod:`latentebm.checkfile`: config and checksum stored with them); restores
    them on resume.

    ``config`` (plain values: what changes the run, e.g. learning rates and penalties) is saved in the file; a
    checkpoint written under another config is refused, never resumed. The random streams are the loop's own
    ``torch.Generator`` objects, passed to :meth:`save` and :meth:`restore` by name; the global torch stream is
    neither saved nor touched. Everything comes back through ``torch.load(weights_only=True)``, so resuming gives
    the same parameters and draws as an uninterrupted run.
    """

    def __init__(self, path: Path | str, every: int, config: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.every = every
        self.config = checkfile.plain(dict(config or {}))

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def save(self, step: int, stateful: Mapping[str, Any], extra: Mapping[str, Any] | None = None,
             rngs: Mapping[str, torch.Generator] | None = None) -> None:
        """Write the states of ``stateful`` (modules, optimisers: anything with ``state_dict``) and of ``rngs``,
        with ``step`` and ``extra`` (tensors and plain values, e.g. the learning curves so far), atomically."""
        payload = {
            "step": int(step),
            "state": {name: obj.state_dict() for name, obj in stateful.items()},
            "rngs": {name: rng.get_state() for name, rng in (rngs or {}).items()},
            "extra": dict(extra or {}),
        }
        checkfile.write(self.path, payload, self.config, kind="checkpoint")

    def restore(self, stateful: Mapping[str, Any],
                rngs: Mapping[str, torch.Generator] | None = None) -> tuple[int, dict]:
        """Load the checkpoint into ``stateful`` and ``rngs`` (in place) if one exists; return (step to resume
        from, extra), or ``(0, {})`` when there is no file. Raises :class:`CheckpointError` naming the file."""
        if not self.path.is_file():
            return 0, {}
        payload, saved = checkfile.read(self.path, CheckpointError, "checkpoint")
        changed = checkfile.differences(saved, self.config)
        if changed:
            raise CheckpointError(
                f"checkpoint {self.path} was written under another config (saved -> this run: {'; '.join(changed)}), "
                f"so it is not resumed. Saved config: {saved}; this run's config: {self.config}. Delete the file "
                "to start afresh, or run with the saved config."
            )
        states, rng_states = payload["state"], payload["rngs"]
        for kind, names, held in (("state", stateful, states), ("random stream", rngs or {}, rng_states)):
            absent = sorted(set(names) - set(held))
            if absent:
                raise CheckpointError(f"checkpoint {self.path} holds no {kind} for {absent} (it holds "
                                      f"{sorted(held)})")
        for name, obj in stateful.items():
            try:
                obj.load_state_dict(states[name])
            except (RuntimeError, KeyError, ValueError) as failure:
                raise CheckpointError(f"checkpoint {self.path}: the state of '{name}' does not fit "
                                      f"({type(failure).__name__}: {failure})") from None
        for name, rng in (rngs or {}).items():
            try:
                rng.set_state(rng_states[name])
            except RuntimeError as failure:
                raise CheckpointError(f"checkpoint {self.path}: the state of random stream '{name}' does not fit "
                                      f"({failure})") from None
        return payload["step"], dict(payload["extra"])
