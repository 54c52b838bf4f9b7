"""Experiments of notebook 09 on particle flows: the three-ring setup with every default in one place, a runner
that records F along a flow, the one-step dissipation check and the descent-lemma audit.

The flows themselves (:mod:`latentebm.particles.flow`) are pure steps; this module only loops over them and
records, with a guard that stops on a non-finite or runaway F.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from latentebm.data import toys_particles as toys
from latentebm.guards import check_finite
from latentebm.particles import flow
from latentebm.particles import witness as W
from latentebm.training.loop import ProgressLog


@dataclass(frozen=True)
class RingsSetup:
    """The three-ring target and the far start (defaults: the KALE-flow authors' rings and kernel, with the start's
    centre 0.8 = 8 sigma below the lowest ring point, so that the kernel reaches only the blob's upper edge)."""

    n_rings: int = 3
    n_per_ring: int = 80
    radius: float = 0.3
    spacing: float = 0.75
    n_particles: int = 240
    start: tuple[float, float] = (0.0, -1.1)
    start_std: float = 0.1
    bandwidth: float = 0.1
    tolerance: float = 0.05
    """a particle within this distance of a ring counts as on it"""

    @property
    def centres(self) -> torch.Tensor:
        return toys.ring_centres(self.n_rings, self.spacing)

    def target(self, rng: torch.Generator) -> torch.Tensor:
        return toys.rings(self.n_per_ring, self.radius, self.centres, rng)

    def particles(self, rng: torch.Generator) -> torch.Tensor:
        return toys.blob(self.n_particles, self.start, self.start_std, rng)

    def cloud(self, rng: torch.Generator, std: float = 0.3) -> torch.Tensor:
        """A random cloud of particles N(0, std^2 I_2) over the rings (for the one-step checks and the audit)."""
        return std * torch.randn(self.n_particles, 2, generator=rng, dtype=torch.float64)

    def occupancy(self, y: torch.Tensor) -> tuple[float, list[float]]:
        return toys.occupancy(y, self.centres, self.radius, self.tolerance)


@dataclass
class Trajectory:
    """F(nu_n) against the step n and the flow time, recorded every few steps, and the final state."""

    steps: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    energy: list[float] = field(default_factory=list)
    final: flow.FlowState | None = None

    def time_to(self, threshold: float) -> float:
        """The flow time at which F first falls to ``threshold``, interpolated in log F between the two records
        around the crossing (infinite if it never does)."""
        energy, time = np.array(self.energy), np.array(self.time)
        below = np.flatnonzero(energy <= threshold)
        if below.size == 0:
            return math.inf
        k = int(below[0])
        if k == 0:
            return float(time[0])
        a, b = np.log(energy[k - 1]), np.log(energy[k])
        return float(time[k - 1] + (time[k] - time[k - 1]) * (a - np.log(threshold)) / (a - b))


def run(y0: torch.Tensor, rule: flow.MMDFlow | flow.KALEFlow, step_size: float, steps: int,
        rng: torch.Generator | None = None, record_every: int = 50, log: ProgressLog | None = None,
        until: Callable[[float], bool] | None = None) -> Trajectory:
    """Run ``steps`` steps of ``rule`` from ``y0`` recording F = 1/2 MMD^2(target, particles) (the MMD of the
    flow's own kernel, for either rule) every ``record_every`` steps; stop early once ``until(F)`` holds."""
    state, record = flow.init(y0), Trajectory()
    for n in range(steps + 1):
        if n % record_every == 0 or n == steps:  # -- record
            energy = W.energy(rule.x, state.y, rule.bandwidth)
            check_finite(n, limit=1e3, F=energy)
            record.steps.append(n)
            record.time.append(state.time)
            record.energy.append(energy)
            if log is not None:
                log.log(n, steps, F=energy)
            if until is not None and until(energy):
                break
        if n < steps:  # -- step
            state = flow.step(state, rule, step_size, rng)
    record.final = state
    return record


def dissipation_ratio(x: torch.Tensor, y: torch.Tensor, bandwidth: float, step_size: float) -> float:
    """(F(nu) - F(nu')) / (gamma int |grad f|^2 dnu) for one plain Euler step nu' of size gamma: -> 1 as gamma -> 0
    (the measured decrease over the one the dissipation identity dF/dt = -int |grad f|^2 dnu predicts)."""
    before = W.energy(x, y, bandwidth)
    after = W.energy(x, flow.step(flow.init(y), flow.MMDFlow(x, bandwidth), step_size).y, bandwidth)
    return (before - after) / (step_size * W.dissipation(x, y, bandwidth))


@dataclass
class DescentAudit:
    """Per step n of a plain flow: F(nu_n), F(nu_{n+1}) and the lemma's guaranteed decrease
    gamma (1 - 3/2 gamma L) int |grad f_n|^2 dnu_n."""

    before: np.ndarray
    after: np.ndarray
    guaranteed: np.ndarray

    @property
    def slack(self) -> np.ndarray:
        """actual decrease minus guaranteed decrease (the lemma: >= 0 up to round-off)."""
        return (self.before - self.after) - self.guaranteed

    def violations(self, roundoff: float = 1e-12) -> int:
        """steps where the lemma fails by more than ``roundoff`` relative to F(nu_n)."""
        return int(np.sum(self.slack < -roundoff * np.abs(self.before)))

    def empirical_constant(self, step_size: float, lipschitz: float) -> float:
        """The largest c with F(nu_n) - F(nu_{n+1}) = gamma (1 - c gamma L) D_n over the steps (the lemma: c <= 3/2);
        D_n recovered from the guaranteed decrease (``step_size`` != 2 / (3L))."""
        dissipation = self.guaranteed / (step_size * (1.0 - 1.5 * step_size * lipschitz))
        decrease = self.before - self.after
        return float(np.max((step_size * dissipation - decrease) / (step_size**2 * lipschitz * dissipation)))

    @property
    def ascents(self) -> int:
        """steps where F rose."""
        return int(np.sum(self.after > self.before))


def descent_audit(x: torch.Tensor, y0: torch.Tensor, bandwidth: float, step_size: float,
                  steps: int) -> DescentAudit:
    """Run ``steps`` plain Euler steps of size ``step_size`` and record the descent lemma's terms at each."""
    lipschitz = W.lipschitz_constant(bandwidth)
    rule, state = flow.MMDFlow(x, bandwidth), flow.init(y0)
    before, after, guaranteed = np.zeros(steps), np.zeros(steps), np.zeros(steps)
    energy = W.energy(x, state.y, bandwidth)
    for n in range(steps):
        before[n] = energy
        guaranteed[n] = W.descent_bound(step_size, lipschitz, W.dissipation(x, state.y, bandwidth))
        state = flow.step(state, rule, step_size)
        energy = W.energy(x, state.y, bandwidth)
        check_finite(n, limit=1e3, F=energy)
        after[n] = energy
    return DescentAudit(before, after, guaranteed)
