"""Every sampler of the package by name, with one shape: ``SAMPLERS[name]`` is a :class:`Sampler` with

- ``init(z, potential, rng) -> state`` for a batch of chains ``z: (C, d)``,
- ``step(state, potential, step_size, rng, **options) -> state``, a pure function over a named-tuple state
  (fields ``z``, ``n_accepted``, ``n_steps``, ``n_grad`` at least),
- ``grads_per_step(**options)``, the gradient evaluations of grad U one step costs (HMC with L leapfrog steps:
  L), the unit in which samplers are compared.

A notebook or a test iterates over the registry instead of dispatching by hand, e.g.
``chains.sample("hmc", z, potential, schedules.constant(0.1), 100, rng, n_leapfrog=5)``.

==== ================================================ ============== ============ =====
name sampler                                          options        grads / step exact
==== ================================================ ============== ============ =====
ula  unadjusted Langevin (:mod:`.langevin`)           —              1            no
mala Metropolis-adjusted Langevin (:mod:`.langevin`)  —              1            yes
hmc  Hamiltonian Monte Carlo (:mod:`.hmc`)            ``n_leapfrog`` L            yes
kla  kinetic Langevin, OBABO (:mod:`.langevin`)       ``friction``   1            no
imh  independent Metropolis-Hastings (:mod:`.baselines`) —           0            yes
==== ================================================ ============== ============ =====

"exact" means that exp(-U) is invariant for every step size (a Metropolis test); the others are biased by the
discretisation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from latentebm.samplers import baselines, hmc, langevin


@dataclass(frozen=True)
class Sampler:
    """One sampler: its ``init`` and ``step`` functions, what a step costs and whether it is exact.

    ``cost(**options)`` gives the gradient evaluations per step; :meth:`grads_per_step` checks the options
    first. ``label`` is the name figures and printouts use.
    """

    name: str
    label: str
    init: Callable[..., Any]
    step: Callable[..., Any]
    cost: Callable[..., int]
    exact: bool

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword options ``step`` takes beyond ``(state, potential, step_size, rng)``."""
        return tuple(inspect.signature(self.step).parameters)[4:]

    def check_options(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise TypeError(f"sampler {self.name!r} takes the options {list(self.options)}, not {unknown}")

    def grads_per_step(self, **options: Any) -> int:
        """Gradient evaluations of grad U per step with these ``options`` (defaults where not given)."""
        self.check_options(options)
        return int(self.cost(**options))


def _one(**options: Any) -> int:
    return 1


def _none(**options: Any) -> int:
    return 0


def _leapfrog(n_leapfrog: int = hmc.DEFAULT_LEAPFROG) -> int:
    return n_leapfrog


SAMPLERS: dict[str, Sampler] = {
    "ula": Sampler("ula", "ULA", langevin.init, langevin.ula_step, _one, exact=False),
    "mala": Sampler("mala", "MALA", langevin.init, langevin.mala_step, _one, exact=True),
    "hmc": Sampler("hmc", "HMC", langevin.init, hmc.hmc_step, _leapfrog, exact=True),
    "kla": Sampler("kla", "KLA", langevin.init_kinetic, langevin.kla_step, _one, exact=False),
    "imh": Sampler("imh", "IMH", baselines.imh_init, baselines.imh_step, _none, exact=True),
}


def get(sampler: str | Sampler) -> Sampler:
    """The :class:`Sampler` named ``sampler`` (case-insensitive), or ``sampler`` itself."""
    if isinstance(sampler, Sampler):
        return sampler
    try:
        return SAMPLERS[sampler.lower()]
    except KeyError:
        raise KeyError(f"unknown sampler {sampler!r}; known: {sorted(SAMPLERS)}") from None
