"""Learning a latent generator model by maximum likelihood with an inner posterior sampler (seed 002).

The gradient of the log-likelihood is an expectation under the posterior (Fisher's identity):

    grad_theta log p_theta(x) = E_{p_theta(z|x)}[ grad_theta log p_theta(x, z) ].

Both algorithms replace the posterior by samples and take one gradient step in theta at those samples:

- alternating back-propagation (``method="abp"``, arXiv 1606.08571): each training example keeps its own
  persistent Langevin chain, advanced a few steps every time the example is visited;
- short-run inference (``method="short_run"``, arXiv 1912.01909): every visit starts afresh from the prior and
  runs K steps of gradient ascent at step size s; every ``tune_every`` steps, s is re-tuned by minimising
  ``KL(q_s || p(z|x))`` (:mod:`latentebm.divergences.short_run_kl`) by gradient and, for the record, by a grid.

:func:`train_vae` trains the VAE baseline with the same decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from latentebm.divergences.short_run_kl import kl_up_to_log_evidence, tune_by_gradient, tune_by_grid
from latentebm.guards import check_finite
from latentebm.models.latent_generators import LatentGenerator, log_joint, log_likelihood
from latentebm.models.vae import Encoder, elbo
from latentebm.samplers.inference import run_chain
from latentebm.training.loop import Checkpointer, ProgressLog


@dataclass
class LearningConfig:
    """Every setting of one learning run (saved with its checkpoints)."""

    method: str = "short_run"  # "short_run" | "abp"
    steps: int = 300
    batch_size: int = 100
    lr: float = 2e-3
    sigma: float = 0.15  # observation noise, the authors' value
    n_steps: int = 25  # K: short-run steps per visit (abp: Langevin steps per visit of a persistent chain)
    s: float = 0.1  # initial step size
    tune_every: int = 0  # 0: keep s fixed
    tune_grid: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
    tune_gradient_steps: int = 5
    tune_lr: float = 0.1
    tune_batch: int = 16
    checkpoint_every: int = 0


@dataclass
class LearningRun:
    """A trained model with its curves: the per-pixel squared error by step and the step size by tuning time."""

    generator: LatentGenerator
    config: LearningConfig
    loss: list[float] = field(default_factory=list)
    tune_steps: list[int] = field(default_factory=list)
    s_gradient: list[float] = field(default_factory=list)
    s_grid: list[float] = field(default_factory=list)
    z_bank: Tensor | None = None


def kl_objective(generator: LatentGenerator, x: Tensor, sigma: float, n_steps: int, generator_rng: torch.Generator):
    """``s -> KL(q_s || p(z|x)) - log p(x)`` on the batch ``x (B, D)``, with prior draws fixed once (common numbers)."""
    z0 = torch.randn(x.shape[0], generator.latent_dim, generator=generator_rng, dtype=x.dtype, device=x.device)

    def objective(s: Tensor) -> Tensor:
        return kl_up_to_log_evidence(lambda z: log_joint(generator, x, z, sigma), z0, s, n_steps)

    return objective


def tune_step_size(generator: LatentGenerator, x: Tensor, config: LearningConfig, s_start: float,
                   rng: torch.Generator, grid: bool = True) -> tuple[float, float]:
    """``(s by gradient descent from s_start, s by the grid)`` minimising the KL objective on ``x``; nan if no grid."""
    objective = kl_objective(generator, x, config.sigma, config.n_steps, rng)
    by_gradient = tune_by_gradient(objective, s_start, config.tune_gradient_steps, lr=config.tune_lr).s
    by_grid = tune_by_grid(objective, config.tune_grid).s if grid else float("nan")
    return by_gradient, by_grid


def short_run_infer(generator: LatentGenerator, x: Tensor, sigma: float, s: float, n_steps: int,
                    rng: torch.Generator, mask: Tensor | None = None, noise: bool = False) -> Tensor:
    """``z_K (B, d)``: K steps of gradient ascent (Langevin if ``noise``) on log p(x, z) from prior draws."""
    z0 = torch.randn(x.shape[0], generator.latent_dim, generator=rng, dtype=x.dtype, device=x.device)
    return run_chain(lambda z: log_joint(generator, x, z, sigma, mask), z0, s, n_steps, rng, noise=noise)


def train_generator(generator: LatentGenerator, x_train: Tensor, config: LearningConfig, seed: int,
                    log: ProgressLog | None = None, checkpoint: Path | None = None, tune_grid: bool = True,
                    ) -> LearningRun:
    """Alternate inference of z (persistent Langevin or short-run) with an Adam step on ``-log p(x, z)`` in theta.

    ``x_train (N, D)`` on the generator's device. Resumes from ``checkpoint`` when one exists.
    """
    device = x_train.device
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    optimiser = torch.optim.Adam(generator.parameters(), lr=config.lr)
    run = LearningRun(generator, config)
    z_bank = torch.randn(len(x_train), generator.latent_dim, generator=rng, device=device, dtype=x_train.dtype)
    s, start = config.s, 0
    saver = Checkpointer(checkpoint, config.checkpoint_every) if checkpoint is not None else None
    if saver is not None:
        start, extra = saver.restore({"generator": generator, "optimiser": optimiser})
        if start:
            s, z_bank = extra["s"], extra["z_bank"].to(device)
            rng.set_state(extra["rng"])
            run.loss, run.tune_steps = extra["loss"], extra["tune_steps"]
            run.s_gradient, run.s_grid = extra["s_gradient"], extra["s_grid"]
    for step in range(start + 1, config.steps + 1):
        # 1. tune s at intervals (short-run only): minimise KL(q_s || p(z|x)) on a small batch
        if config.method == "short_run" and config.tune_every and (step - 1) % config.tune_every == 0:
            tune_idx = torch.randint(len(x_train), (config.tune_batch,), generator=rng, device=device)
            s_gradient, s_grid = tune_step_size(generator, x_train[tune_idx], config, s, rng, grid=tune_grid)
            s = s_gradient
            run.tune_steps.append(step - 1)
            run.s_gradient.append(s_gradient)
            run.s_grid.append(s_grid)
        # 2. inference of z for a batch
        idx = torch.randint(len(x_train), (config.batch_size,), generator=rng, device=device)
        x = x_train[idx]
        if config.method == "abp":
            z = run_chain(lambda z, x=x: log_joint(generator, x, z, config.sigma), z_bank[idx], s, config.n_steps,
                          rng, noise=True)
            z_bank[idx] = z
        else:
            z = short_run_infer(generator, x, config.sigma, s, config.n_steps, rng)
        # 3. learning step on theta at the inferred z
        optimiser.zero_grad()
        loss = -log_likelihood(x, generator(z), config.sigma).mean()
        loss.backward()
        optimiser.step()
        mse = float(((x - generator(z).detach()) ** 2).mean())
        check_finite(step, limit=1e8, loss=loss.item())
        run.loss.append(mse)
        if log is not None:
            log.log(step, config.steps, mse=mse, s=s)
        if saver is not None and (saver.due(step) or step == config.steps):
            saver.save(step, {"generator": generator, "optimiser": optimiser},
                       {"s": s, "z_bank": z_bank.cpu(), "rng": rng.get_state(), "loss": run.loss,
                        "tune_steps": run.tune_steps, "s_gradient": run.s_gradient, "s_grid": run.s_grid})
    run.z_bank = z_bank
    run.config = LearningConfig(**{**config.__dict__, "s": s})
    return run


def train_vae(encoder: Encoder, decoder: LatentGenerator, x_train: Tensor, config: LearningConfig, seed: int,
              log: ProgressLog | None = None) -> list[float]:
    """Adam ascent of the ELBO over encoder and decoder; returns the negative ELBO per pixel by step."""
    rng = torch.Generator(device=x_train.device)
    rng.manual_seed(seed)
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=config.lr)
    trace = []
    for step in range(1, config.steps + 1):
        idx = torch.randint(len(x_train), (config.batch_size,), generator=rng, device=x_train.device)
        optimiser.zero_grad()
        loss = -elbo(encoder, decoder, x_train[idx], config.sigma, rng).mean()
        loss.backward()
        optimiser.step()
        check_finite(step, limit=1e8, loss=loss.item())
        trace.append(loss.item() / x_train.shape[1])
        if log is not None:
            log.log(step, config.steps, neg_elbo=loss.item())
    return trace
