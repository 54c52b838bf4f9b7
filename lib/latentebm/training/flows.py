"""Maximum-likelihood training of a Real NVP (seed 001, "Sanity check: reduction to EBM case": the NVP alone,
the "MLE" row of notebook 07, and the base every energy of that notebook starts from).

:func:`fit_flow` minimises the average negative log-likelihood ``-(1/n) sum_i log q_theta(x_i)`` by Adam on
minibatches and returns the parameters with the best validation NLL among the evaluated steps, step 0 (the
initial flow) included: early stopping by selection, since small tabular sets overfit. :func:`mean_nll` is that
NLL without gradients. The loop reads top to bottom: minibatch, forward/backward, step, guard, evaluate and
select, log, checkpoint. With a checkpoint, a resumed run returns the same parameters *and* the same learning
curves (from step 0) as an uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch

from latentebm.guards import check_finite
from latentebm.models.flows import RealNVP
from latentebm.training.loop import Checkpointer, ProgressLog


@dataclass(frozen=True)
class FlowFitConfig:
    """Every setting that changes a flow's training run (saved in its checkpoints)."""

    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    eval_every: int = 50


@dataclass
class FlowFit:
    """The flow at its best validation NLL, that NLL, the step it was reached, and the curves (step 0 first)."""

    flow: RealNVP
    best_val_nll: float
    best_step: int
    eval_steps: list[int] = field(default_factory=list)
    train_nll: list[float] = field(default_factory=list)
    val_nll: list[float] = field(default_factory=list)

    def history(self) -> dict:
        """The curves and the selection as plain values (what a checkpoint or a saved model keeps)."""
        return {"best_val_nll": self.best_val_nll, "best_step": self.best_step, "eval_steps": list(self.eval_steps),
                "train_nll": list(self.train_nll), "val_nll": list(self.val_nll)}


def mean_nll(flow: RealNVP, x: torch.Tensor) -> float:
    """-(1/n) sum_i log q_theta(x_i) without gradients; x: (n, d)."""
    with torch.no_grad():
        return -flow.log_prob(x).mean().item()


def fit_flow(flow: RealNVP, x_train: torch.Tensor, x_val: torch.Tensor, config: FlowFitConfig,
             rng: torch.Generator, log: ProgressLog | None = None, checkpoint: Path | None = None,
             checkpoint_every: int = 0) -> FlowFit:
    """Train ``flow`` by maximum likelihood on ``x_train: (n, d)``; select on ``x_val: (m, d)``.

    Minibatch indices are drawn from ``rng`` (on any device). With ``checkpoint`` set and ``checkpoint_every``
    > 0, the run saves there every ``checkpoint_every`` steps (``config`` and ``rng`` with it) and resumes from
    the file when one exists; a file written under another ``config`` is refused.
    """
    optimiser = torch.optim.Adam(flow.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    stateful = {"flow": flow, "optimiser": optimiser}
    checkpointer = (Checkpointer(checkpoint, checkpoint_every, config=dataclasses.asdict(config))
                    if checkpoint is not None else None)
    train_nll, val_nll = mean_nll(flow, x_train), mean_nll(flow, x_val)
    fit = FlowFit(flow, val_nll, 0, [0], [train_nll], [val_nll])
    best_state, start = copy.deepcopy(flow.state_dict()), 0
    if checkpointer is not None:
        start, extra = checkpointer.restore(stateful, rngs={"batches": rng})
        if start:
            best_state = {k: torch.as_tensor(v) for k, v in extra["best_state"].items()}
            fit = FlowFit(flow, extra["best_val_nll"], extra["best_step"], list(extra["eval_steps"]),
                          list(extra["train_nll"]), list(extra["val_nll"]))
    n = x_train.shape[0]
    for step in range(start + 1, config.steps + 1):
        index = torch.randint(n, (min(config.batch_size, n),), generator=rng, device=rng.device)
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
            if val_nll < fit.best_val_nll:
                best_state, fit.best_val_nll, fit.best_step = copy.deepcopy(flow.state_dict()), val_nll, step
            if log is not None:
                log.log(step, config.steps, train_nll=train_nll, val_nll=val_nll)
        if checkpointer is not None and checkpointer.due(step):
            checkpointer.save(step, stateful, {**fit.history(), "best_state": best_state}, rngs={"batches": rng})
    flow.load_state_dict(best_state)
    return fit
