"""Training a GEBM by KALE over the class E + R (seed 001, "How do we learn the energy E?" and "Training the
base measure").

Notation: data P; base Q_theta, x = B_theta(z), z ~ eta = N(0, I); energy E; scalar c (the log-partition).

- Energy step: ascend F(E, c) = -E_P[E + c] - E_{Q_theta}[exp(-E - c)] + 1 (the KALE lower bound on the
  generalized log-likelihood; :func:`latentebm.divergences.variational.kale_bound`), optionally minus a gradient
  penalty.
- Base step: descend K(theta) with c at its batch value log mean exp(-E(B_theta(z))); the theta-gradient of
  -log mean_i exp(-E(B_theta(z_i))) (:func:`base_objective`) is sum_i w_i grad_x E(B(z_i)) grad_theta B(z_i),
  w = softmax(-E(B(z))): the self-normalised importance-weighted estimator of the gradient theorem.
- c is a trained scalar (:class:`LogPartition`), initialised by a Monte-Carlo log-mean-exp under the base.

:func:`train_gebm` is the loop (Adam, step schedule for the learning rate, several energy steps per base step
with a longer warm-up, checkpoints that resume exactly, the divergence guard, a progress log);
:func:`refit_energy` is the inner maximisation at a fixed base; :func:`solve_inner_kale` the same on fixed
samples by L-BFGS (notebook 04). The recipes that call them (networks, settings per profile) live in
:mod:`latentebm.experiments`.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from latentebm.divergences.variational import dv_bound, kale_bound
from latentebm.guards import check_finite
from latentebm.ops import log_mean_exp
from latentebm.training.loop import Checkpointer, ProgressLog


class LogPartition(nn.Module):
    """The trained scalar c of the class E + R; at the joint optimum c* = log Z = log E_{Q_theta}[exp(-E)]."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(float(value)))

    def forward(self) -> torch.Tensor:
        return self.c


def base_objective(e_model: torch.Tensor) -> torch.Tensor:
    """-log mean_i exp(-E(B_theta(z_i))), e_model: (B,); minimising it follows the gradient theorem's
    self-normalised importance-weighted estimate of grad K(theta)."""
    return -log_mean_exp(-e_model)


def importance_weighted_gradient(base: nn.Module, energy: nn.Module, z: torch.Tensor) -> list[torch.Tensor]:
    """The gradient theorem's estimator, written out: sum_i w_i J_theta B(z_i)^T grad_x E(B(z_i)),
    w = softmax(-E(B(z))) held fixed. z: (B, k); returns one tensor per parameter of the base."""
    e = energy(base(z))
    w = torch.softmax(-e, 0).detach()
    return list(torch.autograd.grad((w * e).sum(), list(base.parameters())))


@torch.no_grad()
def log_partition_estimate(base: nn.Module, energy: nn.Module, latent_dim: int, n: int,
                           rng: torch.Generator, device: torch.device | str = "cpu", batch: int = 1000) -> float:
    """Monte-Carlo log Z = log mean_i exp(-E(B(z_i))), z_i ~ N(0, I), n draws from ``rng``."""
    values = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), latent_dim, generator=rng).to(device)
        values.append(-energy(base(z)).float())
    return float(log_mean_exp(torch.cat(values)))


def gradient_penalty(energy: nn.Module, x_data: torch.Tensor, x_model: torch.Tensor,
                     rng: torch.Generator) -> torch.Tensor:
    """mean |grad_x E(x_hat)|^2 at x_hat = u x_data + (1 - u) x_model, u ~ U(0, 1) per example; x: (B, ...)."""
    u = torch.rand(x_data.shape[0], *([1] * (x_data.dim() - 1)), generator=rng).to(x_data.device)
    x_hat = (u * x_data + (1 - u) * x_model).requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(x_hat).sum(), x_hat, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@dataclass(frozen=True)
class GEBMTrainConfig:
    """Every knob of :func:`train_gebm` (saved in each checkpoint). The paper's CIFAR-10 values: batch 128,
    Adam lr 1e-4 betas (0.5, 0.999), 5 energy steps per base step, 100 at the start and every 500 base steps,
    gradient penalty weight 1, energy floor -10 (on the network), 65k-150k base steps. ``lr_log_partition``
    (default: ``lr_energy``) is the learning rate of the scalar c alone: a larger one keeps c near log Z."""

    steps: int
    latent_dim: int
    batch_size: int = 128
    energy_steps: int = 5
    warmup_energy_steps: int = 100
    warmup_base_steps: int = 1
    warmup_every: int = 500
    lr_energy: float = 1e-4
    lr_base: float = 1e-4
    lr_log_partition: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    gp_weight: float = 0.0
    lr_decay: float = 1.0
    lr_decay_every: int = 0
    train_base: bool = True
    c_init_samples: int = 2000
    energy_limit: float = 1e4
    checkpoint_every: int = 0
    amp: bool = False

    def energy_steps_at(self, step: int) -> int:
        """Energy steps before base step ``step`` (1-based): the warm-up count at the start and periodically."""
        periodic = self.warmup_every > 0 and step % self.warmup_every == 0
        return self.warmup_energy_steps if step <= self.warmup_base_steps or periodic else self.energy_steps


@dataclass
class GEBMRun:
    """What :func:`train_gebm` returns: learning curves by base step and the final c."""

    steps: list[int] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    c: float = math.nan
    resumed_from: int = 0


def _autocast(device: torch.device, enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def train_gebm(base: nn.Module, energy: nn.Module, data: torch.Tensor, config: GEBMTrainConfig, *,
               rng: torch.Generator, device: torch.device | str = "cpu", log: ProgressLog | None = None,
               checkpoint_path: Path | str | None = None) -> GEBMRun:
    """Train (B_theta, E, c) on ``data`` (N, ...) by KALE over E + R; modules are moved to ``device``.

    All randomness (mini-batches, latents, interpolates) comes from ``rng`` (a CPU ``torch.Generator``), whose
    state the checkpoint saves with the config, so a resumed run ends with the same parameters as an
    uninterrupted one and a checkpoint of another config is refused.
    """
    device = torch.device(device)
    base.to(device)
    energy.to(device)
    data = data.to(device)
    log = log if log is not None else ProgressLog(every=0)
    log_partition = LogPartition().to(device)
    lr_c = config.lr_energy if config.lr_log_partition is None else config.lr_log_partition
    opt_e = torch.optim.Adam([{"params": list(energy.parameters())},
                              {"params": list(log_partition.parameters()), "lr": lr_c}],
                             lr=config.lr_energy, betas=tuple(config.betas))
    # a frozen base (an EBM's fixed Gaussian) may have no parameters; its optimiser then holds a dummy
    base_params = list(base.parameters()) or [nn.Parameter(torch.zeros(()))]
    opt_g = torch.optim.Adam(base_params, lr=config.lr_base, betas=tuple(config.betas))
    every, gamma = max(1, config.lr_decay_every), config.lr_decay if config.lr_decay_every > 0 else 1.0
    sched_e = torch.optim.lr_scheduler.StepLR(opt_e, every, gamma)
    sched_g = torch.optim.lr_scheduler.StepLR(opt_g, every, gamma)
    stateful = {"base": base, "energy": energy, "log_partition": log_partition, "opt_e": opt_e,
                "opt_g": opt_g, "sched_e": sched_e, "sched_g": sched_g}
    # the checkpoint's config: every field that changes the trajectory (``steps`` only says where it stops)
    resumable = {k: v for k, v in asdict(config).items() if k != "steps"}
    checkpointer = Checkpointer(checkpoint_path, config.checkpoint_every, config=resumable) if checkpoint_path else None
    start = 0
    if checkpointer is not None:
        start, extra = checkpointer.restore(stateful, rngs={"rng": rng})
        if start:
            log.history = {k: list(v) for k, v in extra["history"].items()}
            log.steps = list(extra["steps"])
    if start == 0:  # c initialised by a Monte-Carlo log-mean-exp of exp(-E) under the base
        with torch.no_grad():
            log_partition.c.fill_(log_partition_estimate(base, energy, config.latent_dim,
                                                         config.c_init_samples, rng, device))
    n = data.shape[0]

    def batches() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, n, (config.batch_size,), generator=rng).to(device)
        z = torch.randn(config.batch_size, config.latent_dim, generator=rng).to(device)
        return data[idx], z

    for step in range(start + 1, config.steps + 1):
        # energy (and c) steps: ascend F(E, c) - gp_weight * penalty
        for _ in range(config.energy_steps_at(step)):
            x, z = batches()
            with torch.no_grad(), _autocast(device, config.amp):
                x_model = base(z)
            with _autocast(device, config.amp):
                e_data, e_model = energy(x).float(), energy(x_model).float()
            kale = kale_bound(e_data, e_model, log_partition())
            loss = -kale
            if config.gp_weight > 0:
                loss = loss + config.gp_weight * gradient_penalty(energy, x, x_model.to(x.dtype), rng)
            opt_e.zero_grad(set_to_none=True)
            loss.backward()
            opt_e.step()
        # base step: the self-normalised importance-weighted gradient of K(theta)
        _, z = batches()
        with torch.set_grad_enabled(config.train_base), _autocast(device, config.amp):  # frozen base: log only
            e_base = energy(base(z)).float()
        if config.train_base:
            opt_g.zero_grad(set_to_none=True)
            base_objective(e_base).backward()
            opt_g.step()
            energy.zero_grad(set_to_none=True)
        sched_e.step()
        if config.train_base:
            sched_g.step()
        values = {"kale": kale.item(), "c": log_partition.c.item(), "log_z_batch": log_mean_exp(-e_base).item(),
                  "energy_data": e_data.mean().item(), "energy_model": e_model.mean().item()}
        check_finite(step, limit=config.energy_limit, **values)
        log.log(step, config.steps, **values)
        if checkpointer is not None and checkpointer.due(step):
            checkpointer.save(step, stateful, extra={"history": log.history, "steps": log.steps}, rngs={"rng": rng})
    return GEBMRun(list(log.steps), {k: list(v) for k, v in log.history.items()}, log_partition.c.item(), start)


def refit_energy(base: nn.Module, energy: nn.Module, data: torch.Tensor, config: GEBMTrainConfig, steps: int,
                 gp_weight: float, *, rng: torch.Generator, device: torch.device | str = "cpu",
                 log: ProgressLog | None = None) -> GEBMRun:
    """Continue training ``energy`` (and a fresh c) for ``steps`` rounds of ``config.energy_steps`` energy steps
    against the *fixed* ``base``, with gradient penalty ``gp_weight``: the inner maximisation of KALE at the
    final theta, i.e. the E* of the refinement bound (notebook 04). The base is left unchanged."""
    refit = replace(config, steps=steps, train_base=False, gp_weight=gp_weight,
                    warmup_energy_steps=config.energy_steps, checkpoint_every=0)
    requires = [p.requires_grad for p in base.parameters()]
    base.requires_grad_(False)
    try:
        return train_gebm(base, energy, data, refit, rng=rng, device=device, log=log)
    finally:
        for p, flag in zip(base.parameters(), requires, strict=True):
            p.requires_grad_(flag)


def solve_inner_kale(energy: nn.Module, x_data: torch.Tensor, x_model: torch.Tensor, weight_decay: float = 0.0,
               max_iter: int = 500) -> tuple[float, float]:
    """Solve the inner problem max_{E, c} F(E, c) - weight_decay * |psi|^2 on fixed samples by L-BFGS.

    x_data: (N, ...) from P, x_model: (M, ...) from the base. c is eliminated at its exact optimum
    c* = log mean exp(-E(x_model)), where F = L(E) (the generalized log-likelihood), which keeps the problem
    free of overflowing exponentials. The penalty on the energy's weights psi does not depend on theta, so the
    gradient theorem holds for the penalised value. Returns (penalised objective, c*).
    """
    params = list(energy.parameters())
    optimiser = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, tolerance_grad=1e-12, tolerance_change=1e-15,
                                  history_size=50, line_search_fn="strong_wolfe")

    def penalised() -> torch.Tensor:
        value = dv_bound(energy(x_data), energy(x_model))
        if weight_decay > 0:
            value = value - weight_decay * sum((p * p).sum() for p in params)
        return value

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = -penalised()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        return float(penalised()), float(log_mean_exp(-energy(x_model)))
