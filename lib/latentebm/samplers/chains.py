"""Run a sampler for a number of steps under a step-size schedule, keeping a thinned trace.

:func:`sample` starts chains and runs any sampler of :data:`latentebm.samplers.registry.SAMPLERS` by name;
:func:`run` applies a step function to a state already started; the ``*_evaluated`` variants call a function of
the state along the way (e.g. a sample-quality score), and :func:`sample_early_stopped` keeps the chains at the
evaluation with the lowest score (chosen on a validation split, never on the data that is reported). The
sampler's own stopping rule is ours, not the paper's (the GEBM authors decay the step instead).
:func:`gebm_ula_samples` is the GEBM's default sampler
(latent ULA from the prior), as notebook 05 uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from latentebm.samplers import registry
from latentebm.samplers.potentials import Potential, gebm_latent_potential
from latentebm.samplers.schedules import StepSchedule, constant


def run(step: Callable[..., Any], state: Any, potential: Potential, schedule: StepSchedule, n_steps: int,
        rng: torch.Generator, keep_every: int = 0, start: int = 0, **options) -> tuple[Any, torch.Tensor]:
    """Apply ``step`` ``n_steps`` times with step size ``schedule(k)``, k = start, ..., start + n_steps - 1.

    Returns the final state and the trace of positions every ``keep_every`` steps, ``(T, C, d)`` on the CPU
    (``(0, C, d)`` if ``keep_every`` is 0). ``start`` continues a schedule across calls.
    """
    kept = []
    for k in range(start, start + n_steps):
        state = step(state, potential, schedule(k), rng, **options)
        if keep_every and (k - start + 1) % keep_every == 0:
            kept.append(state.z.detach().cpu())
    trace = torch.stack(kept) if kept else state.z.new_zeros((0, *state.z.shape), device="cpu")
    return state, trace


def run_evaluated(step: Callable[..., Any], state: Any, potential: Potential, schedule: StepSchedule, n_steps: int,
                  rng: torch.Generator, every: int, evaluate: Callable[[Any], float],
                  **options) -> tuple[Any, list[int], list[float]]:
    """Run as :func:`run`, calling ``evaluate(state)`` at step 0 and every ``every`` steps (and at the end).

    Returns the final state, the step counts evaluated at and the values.
    """
    steps, values = [0], [evaluate(state)]
    done = 0
    while done < n_steps:
        chunk = min(every, n_steps - done)
        state, _ = run(step, state, potential, schedule, chunk, rng, start=done, **options)
        done += chunk
        steps.append(done)
        values.append(evaluate(state))
    return state, steps, values


def sample(sampler: str | registry.Sampler, z: torch.Tensor, potential: Potential, schedule: StepSchedule,
           n_steps: int, rng: torch.Generator, keep_every: int = 0, **options) -> tuple[Any, torch.Tensor]:
    """Start chains of ``sampler`` (a registry name or :class:`~latentebm.samplers.registry.Sampler`) at
    ``z: (C, d)`` and run them as :func:`run`; ``rng`` drives both (KLA draws its initial velocities from it).

    Returns the final state and the trace ``(T, C, d)``.
    """
    sampler = registry.get(sampler)
    sampler.check_options(options)
    state = sampler.init(z, potential, rng)
    return run(sampler.step, state, potential, schedule, n_steps, rng, keep_every=keep_every, **options)


def sample_evaluated(sampler: str | registry.Sampler, z: torch.Tensor, potential: Potential,
                     schedule: StepSchedule, n_steps: int, rng: torch.Generator, every: int,
                     evaluate: Callable[[Any], float], **options) -> tuple[Any, list[int], list[float]]:
    """Start chains of ``sampler`` at ``z`` and run them as :func:`run_evaluated`."""
    sampler = registry.get(sampler)
    sampler.check_options(options)
    state = sampler.init(z, potential, rng)
    return run_evaluated(sampler.step, state, potential, schedule, n_steps, rng, every, evaluate, **options)


@dataclass
class EarlyStopped:
    """Chains stopped where a validation score was lowest."""

    z: torch.Tensor
    """the latents at the chosen step, (C, d)"""
    step: int
    """the chosen step (0: the start, when no step improved the score)"""
    steps: list[int]
    """the steps evaluated at"""
    scores: list[float]
    """the validation score at each"""
    reports: list[Any] = field(default_factory=list)
    """``report(state)`` at each step evaluated at (e.g. the score on test data), when a report was asked for"""


def sample_early_stopped(sampler: str | registry.Sampler, z: torch.Tensor, potential: Potential,
                         schedule: StepSchedule, n_steps: int, rng: torch.Generator, every: int,
                         score: Callable[[torch.Tensor], float], report: Callable[[torch.Tensor], Any] | None = None,
                         **options) -> EarlyStopped:
    """Run ``sampler`` from ``z`` for at most ``n_steps`` steps, scoring the chains' latents by ``score(z)`` at
    step 0 and every ``every`` steps; keep the latents of the first lowest score (chains stop all together)."""
    best: dict[str, Any] = {"score": float("inf"), "z": z, "at": 0}
    reports: list[Any] = []
    evaluated = [0]

    def evaluate(state: Any) -> float:
        value = float(score(state.z))
        if report is not None:
            reports.append(report(state.z))
        if value < best["score"]:  # strict: the first of equal scores is kept; a NaN score is never chosen
            best.update(score=value, z=state.z.detach().clone(), at=evaluated[0])
        evaluated[0] += 1
        return value

    _, steps, scores = sample_evaluated(sampler, z, potential, schedule, n_steps, rng, every, evaluate, **options)
    return EarlyStopped(best["z"], steps[best["at"]], steps, scores, reports)


def gebm_ula_samples(base: Callable[[torch.Tensor], torch.Tensor], energy: Callable[[torch.Tensor], torch.Tensor],
                     n: int, latent_dim: int, rng: torch.Generator, beta: float, n_steps: int,
                     step_size: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """Samples of a GEBM by latent Langevin: z_0 ~ N(0, I_latent_dim) (n chains, drawn from ``rng``), then
    ``n_steps`` ULA steps of constant ``step_size`` on U(z) = |z|^2/2 + beta E(B(z)); returns B(z_K): (n, ...)
    on the CPU."""
    potential = gebm_latent_potential(base, energy, beta)
    z = torch.randn(n, latent_dim, generator=rng).to(device)
    state, _ = sample("ula", z, potential, constant(step_size), n_steps, rng)
    with torch.no_grad():
        return base(state.z).cpu()
