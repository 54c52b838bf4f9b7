"""Maximum-likelihood training of a flow (seed 001, "Sanity check: reduction to EBM case": the NVP alone, MLE).

Minimises the average negative log-likelihood  -(1/n) sum_i log q_theta(x_i)  by Adam on minibatches, and keeps
the parameters with the best validation NLL (early stopping by selection: small tabular sets overfit).
One flat loop: schedule, evaluate/checkpoint, forward/backward, step, log, stop.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch

from latentebm.guards import check_finite
from latentebm.models.flows import RealNVP
from latentebm.training.loop import Checkpointer, ProgressLog


@dataclass(frozen=True)
class FlowFitConfig:
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    eval_every: int = 50
    checkpoint_every: int = 0
    """0: no checkpoints"""


@dataclass
class FlowFit:
    """The flow at its best validation NLL, that NLL, the step it was reached, and the curves."""

    flow: RealNVP
    best_val_nll: float
    best_step: int
    eval_steps: list[int] = field(default_factory=list)
    train_nll: list[float] = field(default_factory=list)
    val_nll: list[float] = field(default_factory=list)


def mean_nll(flow: RealNVP, x: torch.Tensor) -> float:
    """-(1/n) sum_i log q_theta(x_i) without gradients; x: (n, d)."""
    with torch.no_grad():
        return -flow.log_prob(x).mean().item()


def fit_flow(flow: RealNVP, x_train: torch.Tensor, x_val: torch.Tensor, config: FlowFitConfig,
             generator: torch.Generator, log: ProgressLog | None = None,
             checkpoint: Path | None = None) -> FlowFit:
    """Train ``flow`` by maximum likelihood on ``x_train: (n, d)``; select on ``x_val: (m, d)``.

    Minibatches are drawn with ``generator`` (on the CPU). With ``checkpoint`` set and
    ``config.checkpoint_every > 0``, the run saves and resumes from that file.
    """
    optimiser = torch.optim.Adam(flow.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    checkpointer = Checkpointer(checkpoint, config.checkpoint_every) if checkpoint is not None else None
    start = 0
    best_state, best_val, best_step = copy.deepcopy(flow.state_dict()), mean_nll(flow, x_val), 0
    fit = FlowFit(flow, best_val, 0)
    if checkpointer is not None:
        start, extra = checkpointer.restore({"flow": flow, "optimiser": optimiser})
        if start:
            generator.set_state(extra["generator"])
            best_val, best_step = extra["best_val"], extra["best_step"]
            best_state = {k: torch.as_tensor(v) for k, v in extra["best_state"].items()}
    n = x_train.shape[0]
    for step in range(start + 1, config.steps + 1):
        index = torch.randint(n, (min(config.batch_size, n),), generator=generator, device=generator.device)
        loss = -flow.log_prob(x_train[index.to(x_train.device)]).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        check_finite(step, nll=loss.item())
        if step % config.eval_every == 0 or step == config.steps:
            train_nll, val_nll = mean_nll(flow, x_train), mean_nll(flow, x_val)
            fit.eval_steps.append(step)
            fit.train_nll.append(train_nll)
            fit.val_nll.append(val_nll)
            if val_nll < best_val:
                best_state, best_val, best_step = copy.deepcopy(flow.state_dict()), val_nll, step
            if log is not None:
                log.log(step, config.steps, train_nll=train_nll, val_nll=val_nll)
        if checkpointer is not None and checkpointer.due(step):
            checkpointer.save(step, {"flow": flow, "optimiser": optimiser},
                              {"generator": generator.get_state(), "best_val": best_val, "best_step": best_step,
                               "best_state": best_state})
    flow.load_state_dict(best_state)
    fit.best_val_nll, fit.best_step = best_val, best_step
    return fit
