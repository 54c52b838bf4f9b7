"""Learning a latent generator model by maximum likelihood with an inner posterior sampler (seed 002).

The gradient of the log-likelihood is an expectation under the posterior (Fisher's identity):

    grad_theta log p_theta(x) = E_{p_theta(z|x)}[ grad_theta log p_theta(x, z) ].

Both algorithms replace the posterior by samples and take one gradient step in theta at those samples:

- alternating back-propagation (``method="abp"``, arXiv 1606.08571): each training example keeps its own
  persistent Langevin chain, advanced a few steps every time the example is visited;
- short-run inference (``method="short_run"``, arXiv 1912.01909): every visit starts afresh from the prior and
  runs K steps of gradient ascent at step size s; every ``tune_every`` steps, s is re-tuned by minimising
  ``KL(q_s || p(z|x))`` (:mod:`latentebm.divergences.short_run_kl`) by gradient and, for the record, by a grid.

:func:`train_generator` runs either; :func:`train_vae` trains the VAE baseline with the same decoder;
:func:`short_run_infer` and :func:`tune_step_size` are the inference and the tuning they use, also used on
held-out images. Every loop draws from one explicit ``rng`` (a ``torch.Generator`` on the data's device).
"""

from __future__ import annotations

import dataclasses
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


@dataclass(frozen=True)
class LearningConfig:
    """Every setting that changes one learning run (saved with its checkpoints)."""

    method: str = "short_run"  # "short_run" | "abp" | "vae"
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
    record_grid: bool = True  # at each tuning, also record the grid minimiser (it does not change the run)


@dataclass
class LearningRun:
    """A trained model with its curves: the per-pixel squared error by step, the step size by tuning time (by
    gradient, the one used; and by grid, recorded), and ``s``, the step size at the end of learning."""

    net: LatentGenerator
    config: LearningConfig
    s: float
    loss: list[float] = field(default_factory=list)
    tune_steps: list[int] = field(default_factory=list)
    s_gradient: list[float] = field(default_factory=list)
    s_grid: list[float] = field(default_factory=list)
    z_bank: Tensor | None = None

    def history(self) -> dict:
        """The curves and the final step size as plain values (what a checkpoint or a saved model keeps)."""
        return {"s": self.s, "loss": list(self.loss), "tune_steps": list(self.tune_steps),
                "s_gradient": list(self.s_gradient), "s_grid": list(self.s_grid)}


def kl_objective(net: LatentGenerator, x: Tensor, sigma: float, n_steps: int, rng: torch.Generator):
    """``s -> KL(q_s || p(z|x)) - log p(x)`` on the batch ``x (B, D)``, with prior draws fixed once (common numbers)."""
    z0 = torch.randn(x.shape[0], net.latent_dim, generator=rng, dtype=x.dtype, device=x.device)

    def objective(s: Tensor) -> Tensor:
        return kl_up_to_log_evidence(lambda z: log_joint(net, x, z, sigma), z0, s, n_steps)

    return objective


def tune_step_size(net: LatentGenerator, x: Tensor, config: LearningConfig, s_start: float,
                   rng: torch.Generator, grid: bool = True) -> tuple[float, float]:
    """``(s by gradient descent from s_start, s by the grid)`` minimising the KL objective on ``x``; nan if no grid."""
    objective = kl_objective(net, x, config.sigma, config.n_steps, rng)
    by_gradient = tune_by_gradient(objective, s_start, config.tune_gradient_steps, lr=config.tune_lr,
                                   dtype=x.dtype).s
    by_grid = tune_by_grid(objective, config.tune_grid, dtype=x.dtype).s if grid else float("nan")
    return by_gradient, by_grid


def short_run_infer(net: LatentGenerator, x: Tensor, sigma: float, s: float, n_steps: int,
                    rng: torch.Generator, mask: Tensor | None = None, noise: bool = False) -> Tensor:
    """``z_K (B, d)``: K steps of gradient ascent (Langevin if ``noise``) on log p(x, z) from prior draws."""
    z0 = torch.randn(x.shape[0], net.latent_dim, generator=rng, dtype=x.dtype, device=x.device)
    return run_chain(lambda z: log_joint(net, x, z, sigma, mask), z0, s, n_steps, rng, noise=noise)


def train_generator(net: LatentGenerator, x_train: Tensor, config: LearningConfig, rng: torch.Generator,
                    log: ProgressLog | None = None, checkpoint: Path | None = None, checkpoint_every: int = 0,
                    ) -> LearningRun:
    """Alternate inference of z (persistent Langevin or short-run) with an Adam step on ``-log p(x, z)`` in theta.

    ``x_train (N, D)`` on the network's device, ``rng`` a generator on that device. With ``checkpoint`` set and
    ``checkpoint_every`` > 0, the run saves there (``config``, ``rng`` and the persistent chains with it) and
    resumes from the file when one exists; a file written under another ``config`` is refused.
    """
    if config.method not in ("short_run", "abp"):
        raise ValueError(f"train_generator's method is 'short_run' or 'abp', got {config.method!r}")
    device = x_train.device
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr)
    run = LearningRun(net, config, config.s)
    z_bank = torch.randn(len(x_train), net.latent_dim, generator=rng, device=device, dtype=x_train.dtype)
    start = 0
    stateful = {"net": net, "optimiser": optimiser}
    saver = (Checkpointer(checkpoint, checkpoint_every, config=dataclasses.asdict(config))
             if checkpoint is not None else None)
    if saver is not None:
        start, extra = saver.restore(stateful, rngs={"train": rng})
        if start:
            z_bank = extra["z_bank"].to(device)
            run = LearningRun(net, config, extra["s"], list(extra["loss"]), list(extra["tune_steps"]),
                              list(extra["s_gradient"]), list(extra["s_grid"]))
    for step in range(start + 1, config.steps + 1):
        # 1. tune s at intervals (short-run only): minimise KL(q_s || p(z|x)) on a small batch
        if config.method == "short_run" and config.tune_every and (step - 1) % config.tune_every == 0:
            tune_idx = torch.randint(len(x_train), (config.tune_batch,), generator=rng, device=device)
            s_gradient, s_grid = tune_step_size(net, x_train[tune_idx], config, run.s, rng, grid=config.record_grid)
            run.s = s_gradient
            run.tune_steps.append(step - 1)
            run.s_gradient.append(s_gradient)
            run.s_grid.append(s_grid)
        # 2. inference of z for a batch
        idx = torch.randint(len(x_train), (config.batch_size,), generator=rng, device=device)
        x = x_train[idx]
        if config.method == "abp":
            z = run_chain(lambda z, x=x: log_joint(net, x, z, config.sigma), z_bank[idx], run.s, config.n_steps,
                          rng, noise=True)
            z_bank[idx] = z
        else:
            z = short_run_infer(net, x, config.sigma, run.s, config.n_steps, rng)
        # 3. learning step on theta at the inferred z
        optimiser.zero_grad()
        loss = -log_likelihood(x, net(z), config.sigma).mean()
        loss.backward()
        optimiser.step()
        mse = float(((x - net(z).detach()) ** 2).mean())
        check_finite(step, limit=1e8, loss=loss.item())
        run.loss.append(mse)
        if log is not None:
            log.log(step, config.steps, mse=mse, s=run.s)
        if saver is not None and (saver.due(step) or step == config.steps):
            saver.save(step, stateful, {**run.history(), "z_bank": z_bank.cpu()}, rngs={"train": rng})
    run.z_bank = z_bank
    return run


def train_vae(encoder: Encoder, decoder: LatentGenerator, x_train: Tensor, config: LearningConfig,
              rng: torch.Generator, log: ProgressLog | None = None) -> list[float]:
    """Adam ascent of the ELBO over encoder and decoder, minibatches and reparameterised draws from ``rng`` (on
    the data's device); returns the negative ELBO per pixel by step."""
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
