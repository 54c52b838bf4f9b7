"""Maximum-likelihood learning of an energy-based model with Langevin negatives, as configured in the anatomy
paper (Nijkamp, Hill, Han, Zhu & Wu, AAAI 2020, arXiv 1903.12370; the authors' repository point0bar1/ebm-anatomy).

The model is p_theta(x) = exp(-U_theta(x)) / Z(theta). The gradient of the mean negative log-likelihood is

    grad_theta L = E_data[grad_theta U] - E_{p_theta}[grad_theta U],

and the loss d = mean U(data) - mean U(samples) has exactly this gradient when the samples are drawn from
p_theta (its gradient does not flow through the samples). With short-run samples instead, the update makes U
whatever turns the short-run sampler into a good generator: the learned U need not be a density of the data.

**The rescaling.** The network outputs F and U = F / (eps^2 / 2). Unadjusted Langevin on U with step
h = eps^2 / 2 is then x <- x - h grad U + sqrt(2h) xi = x - grad F + eps xi: the authors' step, with eps the
noise of a step and grad F its drift. The loss is d in U units (the authors multiply by 2 / eps^2) and SGD's
learning rate is multiplied by eps^2 / 2, which makes SGD's update of F independent of eps (Adam is invariant to
the loss scale).

**Negatives.** ``init``: ``"persistent"`` (a bank of ``bank_size`` states per member, uniform on
[-init_scale, init_scale]^D at the start; each update picks ``batch_size`` distinct ones, runs ``langevin_steps`` steps
and writes them back), ``"uniform"`` or ``"gaussian"`` noise (scaled by ``init_scale``), or ``"data"``.
The steps are the package's ULA (:func:`latentebm.samplers.langevin.ula_step`) on U, over the chains of every
member at once.

**Diagnostics** (:mod:`latentebm.metrics.learning_diagnostics`), every update and per member: d_t and r_t, the
mean |grad F| along the chain.

The network is an :class:`latentebm.models.ensembles.EnsembleMLP` of S independent members (``(S, B, D) -> (S,
B)``), trained together: the loss is the sum of the members' losses, so each member gets its own gradient.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from latentebm.guards import check_finite
from latentebm.metrics.learning_diagnostics import energy_difference
from latentebm.samplers import langevin
from latentebm.samplers.potentials import Potential
from latentebm.training.loop import Checkpointer, ProgressLog

INITS = ("persistent", "uniform", "gaussian", "data")
OPTIMISERS = ("sgd", "adam")
DataSampler = Callable[[int, torch.Generator], torch.Tensor]
"""``draw(n, rng) -> (S, n, D)``: a batch of n data points for each member (on the CPU)"""


@dataclass(frozen=True)
class MLConfig:
    """Every setting of an ML learning run (the authors' config names in brackets)."""

    iterations: int
    """parameter updates [num_train_iters]"""
    epsilon: float
    """Langevin noise per step; the step on U is eps^2 / 2 [epsilon]"""
    langevin_steps: int
    """steps of the negatives' chains per update [num_mcmc_steps]"""
    init: str
    """where the chains start: persistent, uniform, gaussian or data [init_type]"""
    optimiser: str
    """sgd or adam [optimizer_type]"""
    lr: float
    """learning rate; SGD's is multiplied by eps^2 / 2 [lr_init]"""
    batch_size: int = 100
    bank_size: int = 10000
    """persistent states per member [s_t_0_size]"""
    init_scale: float | tuple[float, ...] = 1.0
    """half-width of the uniform start, std of the Gaussian one [noise_init_factor]; one per member when a tuple"""
    data_noise: float = 0.0
    """std of the Gaussian noise added to each data batch [data_epsilon]"""
    checkpoint_every: int = 0
    log_every: int = 100

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"optimiser must be one of {OPTIMISERS}, got {self.optimiser!r}")
        if self.epsilon <= 0 or self.lr <= 0 or self.iterations < 1 or self.langevin_steps < 1:
            raise ValueError(f"epsilon, lr, iterations and langevin_steps must be positive: {self}")

    @property
    def step_size(self) -> float:
        """h = eps^2 / 2, the ULA step on U (also the temperature F / U)."""
        return temperature(self.epsilon)

    @property
    def optimiser_lr(self) -> float:
        return self.lr * self.step_size if self.optimiser == "sgd" else self.lr


def temperature(epsilon: float) -> float:
    """eps^2 / 2: U = F / (eps^2 / 2), and the ULA step on U whose noise is eps."""
    return epsilon**2 / 2


def rescaled_potential(energy: nn.Module, members: int, epsilon: float) -> Potential:
    """U(z) = F(z) / (eps^2 / 2) for the chains of every member flattened, ``z: (S * B, D) -> (S * B,)``."""
    h = temperature(epsilon)

    def potential(z: torch.Tensor) -> torch.Tensor:
        return energy(z.reshape(members, -1, z.shape[-1])).reshape(-1) / h

    return potential


def initial_states(init: str, shape: tuple[int, int, int], scale: float | tuple[float, ...], rng: torch.Generator,
                   data: DataSampler | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Starts of shape ``(S, B, D)`` for a noise or data ``init`` (a persistent bank starts ``"uniform"``);
    ``scale`` is one number or one per member."""
    members, n, dim = shape
    scale = torch.as_tensor(scale, dtype=dtype).reshape(-1, 1, 1)
    if init in ("uniform", "persistent"):
        return scale * (2 * torch.rand(shape, generator=rng, dtype=dtype) - 1)
    if init == "gaussian":
        return scale * torch.randn(shape, generator=rng, dtype=dtype)
    if init == "data" and data is not None:
        return data(n, rng)
    raise ValueError(f"no starts for init {init!r}" + (" without a data sampler" if init == "data" else ""))


def langevin_chains(energy: nn.Module, x0: torch.Tensor, epsilon: float, steps: int, rng: torch.Generator,
                    sampler: str = "ula") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``steps`` ULA (or MALA) steps of size eps^2 / 2 on U = F / (eps^2 / 2) from ``x0: (S, B, D)``.

    Returns the final states (S, B, D), r (S,), the mean over the steps of the mean |grad F| at the states each
    step moved from (the authors' r_t), and the acceptance rate (S,) (1 for ULA)."""
    members, n, dim = x0.shape
    h = temperature(epsilon)
    potential = rescaled_potential(energy, members, epsilon)
    step = {"ula": langevin.ula_step, "mala": langevin.mala_step}[sampler]
    state = langevin.init(x0.reshape(-1, dim), potential)
    r = torch.zeros(members, device=x0.device)
    for _ in range(steps):
        r += h * state.grad.reshape(members, n, dim).norm(dim=-1).mean(-1)
        state = step(state, potential, h, rng)
    accepted = langevin.acceptance_rate(state).reshape(members, n).mean(-1)
    return state.z.reshape(members, n, dim), r / max(steps, 1), accepted


class Bank(nn.Module):
    """The persistent states ``(S, bank_size, D)`` as a buffer, saved with the model (empty without a bank)."""

    def __init__(self, members: int, size: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("states", torch.zeros(members, size, dim))


@dataclass
class MLRun:
    """d_t and r_t of every update, ``(T, S)`` each."""

    d: np.ndarray
    r: np.ndarray

    def history(self) -> dict:
        return {"d": self.d.tolist(), "r": self.r.tolist()}


def negatives(energy: nn.Module, config: MLConfig, bank: Bank, n: int, rng: torch.Generator,
              data: DataSampler | None = None, update: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The training sampler: n chains per member from the bank (written back when ``update``) or from the
    configured start, run ``langevin_steps`` ULA steps. Returns (samples (S, n, D), r (S,))."""
    members, size, dim = bank.states.shape if config.init == "persistent" else (energy.members, 0, energy.sizes[0])
    device = bank.states.device
    if config.init == "persistent":  # n distinct states per member (the authors' randperm)
        index = torch.rand(members, size, generator=rng).argsort(1)[:, :n].to(device)
        x0 = torch.gather(bank.states, 1, index[..., None].expand(members, n, dim))
    else:
        x0 = initial_states(config.init, (members, n, dim), config.init_scale, rng, data).to(device, bank.states.dtype)
    x, r, _ = langevin_chains(energy, x0, config.epsilon, config.langevin_steps, rng)
    if config.init == "persistent" and update:
        bank.states.scatter_(1, index[..., None].expand(members, n, dim), x)
    return x, r


def ml_loss(energy: nn.Module, x_data: torch.Tensor, x_samples: torch.Tensor, epsilon: float) -> torch.Tensor:
    """d per member, (S,): mean U(data) - mean U(samples) with U = F / (eps^2 / 2). Its gradient in the weights
    is the ML gradient E_data[grad U] - E_samples[grad U] (the samples are constants)."""
    h = temperature(epsilon)
    return energy_difference(energy(x_data) / h, energy(x_samples.detach()) / h)


def make_optimiser(energy: nn.Module, config: MLConfig) -> torch.optim.Optimizer:
    if config.optimiser == "sgd":
        return torch.optim.SGD(energy.parameters(), lr=config.optimiser_lr)
    return torch.optim.Adam(energy.parameters(), lr=config.optimiser_lr)


def train_ml(energy: nn.Module, bank: Bank, data: DataSampler, config: MLConfig, rng: torch.Generator,
             device: torch.device | str = "cpu", log: ProgressLog | None = None,
             checkpoint: Path | None = None) -> MLRun:
    """Train ``energy`` (an ensemble of S members) by the ML update with the configured negatives.

    ``rng`` (a CPU generator) draws the bank's start, the batches and every Langevin noise. With ``checkpoint`` and
    ``config.checkpoint_every`` > 0 the run saves there and resumes from the file when one exists (a file from
    another config is refused); a resumed run ends exactly where an uninterrupted one does. Stops with
    :class:`latentebm.guards.DivergenceError` on a non-finite or runaway d or r.
    """
    energy.to(device)
    bank.to(device)
    members, dim = energy.members, energy.sizes[0]
    if config.init == "persistent":
        bank.states.copy_(initial_states("uniform", (members, config.bank_size, dim), config.init_scale, rng))
    optimiser = make_optimiser(energy, config)
    d_record, r_record = np.zeros((config.iterations, members)), np.zeros((config.iterations, members))
    checkpointer = (Checkpointer(checkpoint, config.checkpoint_every, dataclasses.asdict(config))
                    if checkpoint is not None and config.checkpoint_every else None)
    start = 0
    if checkpointer is not None:
        start, extra = checkpointer.restore({"energy": energy, "bank": bank, "optimiser": optimiser}, {"train": rng})
        if start:
            d_record[:start], r_record[:start] = np.array(extra["d"]), np.array(extra["r"])
    for t in range(start, config.iterations):
        # negatives: the short-run (or persistent) chains of every member
        x_samples, r = negatives(energy, config, bank, config.batch_size, rng, data)
        # positives: a data batch, with the configured noise
        x_data = data(config.batch_size, rng)
        if config.data_noise > 0:
            x_data = x_data + config.data_noise * torch.randn(x_data.shape, generator=rng, dtype=x_data.dtype)
        # update: the ML gradient of every member at once
        d = ml_loss(energy, x_data.to(device), x_samples, config.epsilon)
        optimiser.zero_grad()
        d.sum().backward()
        optimiser.step()
        # record and guard
        d_record[t], r_record[t] = d.detach().cpu().numpy(), r.cpu().numpy()
        check_finite(t + 1, limit=1e9, d=float(np.abs(d_record[t]).max()), r=float(r_record[t].max()))
        if log is not None:
            log.log(t + 1, config.iterations, d=float(np.median(d_record[t])), r=float(np.median(r_record[t])))
        if checkpointer is not None and checkpointer.due(t + 1):
            checkpointer.save(t + 1, {"energy": energy, "bank": bank, "optimiser": optimiser},
                              {"d": d_record[: t + 1].tolist(), "r": r_record[: t + 1].tolist()}, {"train": rng})
    return MLRun(d_record, r_record)
