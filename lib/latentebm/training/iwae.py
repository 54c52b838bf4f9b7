"""Training a VAE or an IWAE on binary images: the same networks, two objectives (seed 003; Burda et al. 2016).

With ``k`` draws per example and log weights ``log w_i = log p(x, z_i) - log q(z_i|x)``
(:func:`latentebm.models.vae.log_weights`):

- ``"vae"``: the k-sample estimate of the ELBO, ``(1/k) sum_i log w_i`` (more draws only lower its variance);
- ``"iwae"``: the importance-weighted bound ``log (1/k) sum_i w_i`` (a tighter bound as k grows);
- ``"vae_analytic_kl"``: the ELBO with its KL term in closed form, the usual VAE estimator (not the IWAE paper's,
  whose VAE and IWAE coincide at k = 1).

Each step binarises its minibatch afresh (dynamic binarisation, the IWAE paper's). One ``rng`` draws everything.
The loop checkpoints (config-checked; resuming ends where an uninterrupted run does) and stops on a non-finite or
runaway loss.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from latentebm.data.images import binarise
from latentebm.divergences.importance_weighted import iw_bound
from latentebm.guards import check_finite
from latentebm.models.latent_generators import LatentGenerator
from latentebm.models.vae import Encoder, analytic_kl_elbo, log_weights
from latentebm.training.loop import Checkpointer, ProgressLog

OBJECTIVES = ("vae", "iwae", "vae_analytic_kl")


@dataclass(frozen=True)
class IWConfig:
    """Every setting that changes one run (saved with its checkpoints)."""

    objective: str = "iwae"
    k: int = 5
    steps: int = 2000  # the defaults are notebook 17's ci recipe (latentebm.experiments.iw_autoencoders)
    batch_size: int = 50
    lr: float = 1e-3
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")


def objective(log_w: Tensor, kind: str) -> Tensor:
    """The per-example objective ``(B,)`` from log weights ``(k, B)``: the k-sample ELBO or the IW bound."""
    return log_w.mean(0) if kind == "vae" else iw_bound(log_w)


def train_iw(encoder: Encoder, decoder: LatentGenerator, x_train: Tensor, config: IWConfig, rng: torch.Generator,
             log: ProgressLog | None = None, checkpoint: Path | None = None) -> list[float]:
    """Adam ascent of the configured objective; ``x_train (N, D)`` intensities in [0, 1], binarised per step.
    Returns the training objective (nats per image) by step."""
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=config.lr)
    checkpointer = (Checkpointer(checkpoint, config.checkpoint_every, dataclasses.asdict(config))
                    if checkpoint is not None and config.checkpoint_every else None)
    stateful = {"encoder": encoder, "decoder": decoder, "optimiser": optimiser}
    start, trace = 0, []
    if checkpointer is not None:
        start, extra = checkpointer.restore(stateful, {"train": rng})
        trace = list(extra.get("trace", []))
    for step in range(start + 1, config.steps + 1):
        # batch: a fresh binarisation of random training images
        idx = torch.randint(len(x_train), (config.batch_size,), generator=rng, device=x_train.device)
        x = binarise(x_train[idx], rng)
        # update: ascend the objective
        optimiser.zero_grad()
        if config.objective == "vae_analytic_kl":
            value = analytic_kl_elbo(encoder, decoder, x, config.k, rng).mean()
        else:
            value = objective(log_weights(encoder, decoder, x, config.k, rng), config.objective).mean()
        (-value).backward()
        optimiser.step()
        # record and guard
        trace.append(value.item())
        check_finite(step, limit=1e6, objective=value.item())
        if log is not None:
            log.log(step, config.steps, objective=value.item())
        if checkpointer is not None and checkpointer.due(step):
            checkpointer.save(step, stateful, {"trace": trace}, {"train": rng})
    return trace


@torch.no_grad()
def test_log_likelihood(encoder: Encoder, decoder: LatentGenerator, x: Tensor, k: int, rng: torch.Generator,
                        chunk: int = 100) -> Tensor:
    """The IW estimate ``L_k`` of ``log p(x)`` per binary test image (``x (N, D)``), ``(N,)``: the IWAE paper's
    test log-likelihood with k = 5000; examples in chunks to bound memory."""
    return torch.cat([iw_bound(log_weights(encoder, decoder, x[i:i + chunk], k, rng))
                      for i in range(0, len(x), chunk)])


@torch.no_grad()
def active_units(encoder: Encoder, x: Tensor, threshold: float = 1e-2) -> int:
    """Burda et al.'s active units: latent coordinates u with ``Cov_x(E_q[z_u|x]) > threshold``."""
    mean, _ = encoder(x)
    return int((mean.var(0, correction=0) > threshold).sum())
