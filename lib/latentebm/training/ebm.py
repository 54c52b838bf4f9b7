"""An energy on top of a base with a density: the GEBM of seed 001 reduced to an ordinary EBM
("Sanity check: reduction to EBM case"), trained by KALE, by the Donsker-Varadhan bound, or by contrastive
divergence with Langevin negatives; the base B_theta (a Real NVP) fixed or trained jointly.

Notation. Base law Q_theta with density q_theta = exp(h_theta) (h_theta = log q_theta, closed form for the
NVP); energy E_psi; the GEBM

    p(x) = q_theta(x) exp(-E_psi(x)) / Z,   Z = E_{Q_theta}[exp(-E_psi)],

is the EBM ∝ exp(-r) with Lebesgue energy r = E_psi - h_theta. Objectives for the energy, maximised over psi
(all three share the same population maximiser, the maximum-likelihood energy; they differ as estimators):

- KALE (seed 001, "Fit the model using Generalized Log-Likelihood"): with a scalar c (the model's),
  F = -E_P (E + c) + 1 - E_Q exp(-(E + c)), :func:`latentebm.divergences.variational.kale_bound`;
  linear in both expectations, so minibatch gradients are unbiased.
- Donsker-Varadhan: D = -E_P E - log E_Q exp(-E) (:func:`latentebm.divergences.variational.dv_bound`), the
  log-likelihood up to E_P h_theta; the log of a minibatch mean makes its gradient biased.
- Contrastive divergence: the log-likelihood gradient -E_P grad E + E_p grad E, the model expectation taken
  on short-run Langevin negatives, run in the latent space on U(z) = |z|^2 / 2 + E(B_theta(z)) (the GEBM's
  posterior latent, seed 001 "Sampling from the model") from fresh base draws.

Joint base training: for KALE and DV, theta takes the GEBM generator step, minimising the same bound through
reparametrised samples x = B_theta(z) (the generator gradient theorem of seed 001); for CD, theta follows the
contrastive-divergence gradient of the whole Lebesgue energy r = E - h_theta, i.e. -E_P grad h + E_p grad h.

Model selection: :func:`fit_energy` evaluates the validation NLL every ``eval_every`` steps with log Z from
the same ``eval_samples`` base draws each time (common random numbers, so the curve compares models, not
draws), and keeps the best state, step 0 (the base alone, E = 0) included. A resumed run returns the same
state and the same curves, from step 0, as an uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from latentebm.divergences.variational import dv_bound, kale_bound
from latentebm.guards import check_finite
from latentebm.metrics.likelihood import LogZEstimate, importance_log_z
from latentebm.models.critics import MLPCritic
from latentebm.models.flows import RealNVP
from latentebm.ops import standard_normal_log_prob
from latentebm.runtime import torch_generator
from latentebm.samplers import langevin
from latentebm.training.loop import Checkpointer, ProgressLog

METHODS = ("kale", "dv", "cd")


def make_energy(dim: int, hidden: int = 64, depth: int = 2) -> MLPCritic:
    """E_psi: an MLP R^d -> R (smooth SiLU activations, for Langevin) whose output layer starts at zero, so the
    GEBM starts exactly at its base."""
    energy = MLPCritic(dim, hidden, depth)
    last = energy.net[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return energy


class EnergyOnBase(nn.Module):
    """The GEBM p ∝ q_theta exp(-E_psi) with a log-normaliser estimate ``c`` (KALE's scalar)."""

    def __init__(self, base: RealNVP, energy: nn.Module) -> None:
        super().__init__()
        self.base = base
        self.energy = energy
        self.c = nn.Parameter(torch.zeros(()))

    def unnormalised_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log q_theta(x) - E(x) = -r(x); x: (B, d) -> (B,)."""
        return self.base.log_prob(x) - self.energy(x)

    def latent_potential(self, z: torch.Tensor) -> torch.Tensor:
        """U(z) = -log eta(z) + E(B_theta(z)): the posterior latent nu ∝ exp(-U); z: (B, d) -> (B,)."""
        x, _ = self.base.generate(z)
        return -standard_normal_log_prob(z) + self.energy(x)

    def log_z(self, n: int, repeats: int, rng: torch.Generator) -> LogZEstimate:
        """log Z = log E_q exp(-E) by importance sampling with the base as proposal (metrics.likelihood (1))."""
        return importance_log_z(lambda m, g: -self.energy(self.base.sample(m, g)[0]), n, repeats, rng)

    def log_prob(self, x: torch.Tensor, log_z: float) -> torch.Tensor:
        """log p(x) given an estimate of log Z; x: (B, d) -> (B,)."""
        return self.unnormalised_log_prob(x) - log_z


def energy_bound(model: EnergyOnBase, method: str, x_data: torch.Tensor, x_base: torch.Tensor) -> torch.Tensor:
    """The bound ``method`` maximises, on minibatches x_data: (B, d) ~ P and x_base: (M, d) ~ Q_theta: KALE
    F(E, c) with the model's own c (``"kale"``), or Donsker-Varadhan D(E) (``"dv"``)."""
    e_p, e_q = model.energy(x_data), model.energy(x_base)
    if method == "kale":
        return kale_bound(e_p, e_q, model.c)
    if method == "dv":
        return dv_bound(e_p, e_q)
    raise ValueError(f"energy_bound is for 'kale' and 'dv', got {method!r}")


def langevin_negatives(model: EnergyOnBase, n: int, steps: int, step_size: float,
                       rng: torch.Generator) -> torch.Tensor:
    """Short-run ULA on U(z) from z ~ eta, mapped through B_theta; returns detached x: (n, d)."""
    reference = model.c
    z = torch.randn(n, model.base.dim, generator=rng, dtype=reference.dtype, device=reference.device)
    state = langevin.init(z, model.latent_potential)
    for _ in range(steps):
        state = langevin.ula_step(state, model.latent_potential, step_size, rng)
    with torch.no_grad():
        return model.base.generate(state.z)[0]


@dataclass(frozen=True)
class EnergyFitConfig:
    """Every setting that changes an energy's training run (saved in its checkpoints)."""

    method: str = "kale"
    steps: int = 500
    batch_size: int = 64
    n_base: int = 256
    """base draws per step (the Q-expectations of KALE and DV; the number of CD negatives)"""
    lr: float = 1e-3
    weight_decay: float = 1e-4
    train_base: bool = False
    base_lr: float = 1e-4
    langevin_steps: int = 20
    langevin_step_size: float = 1e-2
    eval_every: int = 50
    eval_samples: int = 4096
    """base draws for the importance-sampling log Z at each validation check (the same draws every check)"""


@dataclass
class EnergyFit:
    """The model at its best validation NLL (log Z by importance sampling), the step it was reached, the curves
    (step 0, the base alone, first; the objective at every step), and the seed of the validation draws."""

    model: EnergyOnBase
    best_val_nll: float
    best_step: int
    eval_steps: list[int] = field(default_factory=list)
    val_nll: list[float] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    validation_seed: int = 0

    def validation_rng(self, device: torch.device | str = "cpu") -> torch.Generator:
        """A fresh generator giving the draws of every validation check (to recompute a point of the curve)."""
        return torch_generator(self.validation_seed, device)

    def history(self) -> dict:
        """The curves and the selection as plain values (what a checkpoint or a saved model keeps)."""
        return {"best_val_nll": self.best_val_nll, "best_step": self.best_step, "eval_steps": list(self.eval_steps),
                "val_nll": list(self.val_nll), "objective": list(self.objective),
                "validation_seed": self.validation_seed}


def validation_nll(model: EnergyOnBase, x_val: torch.Tensor, n: int, rng: torch.Generator) -> float:
    """-(1/m) sum log p(x_j) with log Z from n base draws (one repeat); x_val: (m, d)."""
    with torch.no_grad():
        log_z = model.log_z(n, 1, rng).pooled
        return -model.log_prob(x_val, log_z).mean().item()


def _energy_loss(model: EnergyOnBase, method: str, x_data: torch.Tensor, config: EnergyFitConfig,
                 rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """(loss for psi, loss for theta or None, logged objective) for one step; losses are minimised."""
    if method == "cd":
        x_neg = langevin_negatives(model, config.n_base, config.langevin_steps, config.langevin_step_size, rng)
        gap = model.energy(x_data).mean() - model.energy(x_neg).mean()
        base_loss = None
        if config.train_base:
            base_loss = -model.base.log_prob(x_data).mean() + model.base.log_prob(x_neg).mean()
        return gap, base_loss, -gap.item()
    x_base, _ = model.base.sample(config.n_base, rng)
    objective = energy_bound(model, method, x_data, x_base)
    return -objective, objective, objective.item()


def fit_energy(model: EnergyOnBase, x_train: torch.Tensor, x_val: torch.Tensor, config: EnergyFitConfig,
               rng: torch.Generator, log: ProgressLog | None = None, checkpoint: Path | None = None,
               checkpoint_every: int = 0) -> EnergyFit:
    """Train the energy (and c; and the base when ``config.train_base``) by ``config.method``; keep the state
    with the best validation NLL, starting from the base alone (E = 0).

    ``rng`` (on the model's device) draws the minibatches, base samples and Langevin noise, and first the seed of
    the validation draws. With ``checkpoint`` set and ``checkpoint_every`` > 0, the run saves there (``config``
    and ``rng`` with it) and resumes from the file when one exists; a file written under another ``config`` is
    refused.
    """
    if config.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {config.method!r}")
    energy_params = list(model.energy.parameters()) + [model.c]
    optimiser = torch.optim.Adam(energy_params, lr=config.lr, weight_decay=config.weight_decay)
    base_optimiser = torch.optim.Adam(model.base.parameters(), lr=config.base_lr) if config.train_base else None
    for p in model.base.parameters():
        p.requires_grad_(config.train_base)
    stateful: dict[str, object] = {"model": model, "optimiser": optimiser}
    if base_optimiser is not None:
        stateful["base_optimiser"] = base_optimiser
    checkpointer = (Checkpointer(checkpoint, checkpoint_every, config=dataclasses.asdict(config))
                    if checkpoint is not None else None)
    validation_seed = int(torch.randint(0, 2**62, (1,), generator=rng, device=rng.device))
    fit = EnergyFit(model, 0.0, 0, validation_seed=validation_seed)
    fit.best_val_nll = validation_nll(model, x_val, config.eval_samples, fit.validation_rng(rng.device))
    fit.eval_steps, fit.val_nll = [0], [fit.best_val_nll]
    best_state, start = copy.deepcopy(model.state_dict()), 0
    if checkpointer is not None:
        start, extra = checkpointer.restore(stateful, rngs={"train": rng})
        if start:
            best_state = {k: torch.as_tensor(v) for k, v in extra["best_state"].items()}
            fit = EnergyFit(model, extra["best_val_nll"], extra["best_step"], list(extra["eval_steps"]),
                            list(extra["val_nll"]), list(extra["objective"]), extra["validation_seed"])
    n = x_train.shape[0]
    for step in range(start + 1, config.steps + 1):
        index = torch.randint(n, (min(config.batch_size, n),), generator=rng, device=rng.device)
        x_data = x_train[index.to(x_train.device)]
        energy_loss, base_loss, objective = _energy_loss(model, config.method, x_data, config, rng)
        optimiser.zero_grad()
        if base_optimiser is not None:
            base_optimiser.zero_grad()
            base_loss.backward(retain_graph=True, inputs=list(model.base.parameters()))
        energy_loss.backward(inputs=energy_params)
        optimiser.step()
        if base_optimiser is not None:
            base_optimiser.step()
        check_finite(step, objective=objective)
        fit.objective.append(objective)
        if step % config.eval_every == 0 or step == config.steps:
            val_nll = validation_nll(model, x_val, config.eval_samples, fit.validation_rng(rng.device))
            check_finite(step, val_nll=val_nll)
            fit.eval_steps.append(step)
            fit.val_nll.append(val_nll)
            if val_nll < fit.best_val_nll:
                best_state, fit.best_val_nll, fit.best_step = copy.deepcopy(model.state_dict()), val_nll, step
            if log is not None:
                log.log(step, config.steps, objective=objective, val_nll=val_nll)
        if checkpointer is not None and checkpointer.due(step):
            checkpointer.save(step, stateful, {**fit.history(), "best_state": best_state}, rngs={"train": rng})
    model.load_state_dict(best_state)
    for p in model.base.parameters():
        p.requires_grad_(True)
    return fit


def heldout_nll(model: EnergyOnBase, x_test: torch.Tensor, n: int, repeats: int,
                rng: torch.Generator) -> tuple[float, LogZEstimate]:
    """Mean test NLL with log Z pooled over ``repeats`` importance-sampling repeats of ``n`` base draws, and
    the log Z estimate (its spread over repeats moves the NLL one for one)."""
    with torch.no_grad():
        estimate = model.log_z(n, repeats, rng)
        return -model.log_prob(x_test, estimate.pooled).mean().item(), estimate
