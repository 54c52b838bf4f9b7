"""Checkpoints resume to the same state; the guard stops divergent training with a clear message."""

import math

import pytest
import torch
from latentebm.guards import DivergenceError, check_finite
from latentebm.training.loop import Checkpointer, ProgressLog, maximise


def train(model, optimiser, checkpointer, start, stop, data):
    for step in range(start + 1, stop + 1):
        optimiser.zero_grad()
        loss = ((model(data) - 1.0) ** 2).mean() + 0.01 * torch.randn(()).abs()
        loss.backward()
        optimiser.step()
        if checkpointer.due(step):
            checkpointer.save(step, {"model": model, "optimiser": optimiser})


def fresh():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    return model, torch.optim.Adam(model.parameters(), lr=0.1)


def test_resume_gives_identical_parameters(tmp_path):
    data = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))
    model, optimiser = fresh()
    train(model, optimiser, Checkpointer(tmp_path / "a.pt", every=5), 0, 20, data)

    model_b, optimiser_b = fresh()
    train(model_b, optimiser_b, Checkpointer(tmp_path / "b.pt", every=5), 0, 10, data)
    model_c, optimiser_c = fresh()  # a new process: fresh objects, state from disk
    checkpointer = Checkpointer(tmp_path / "b.pt", every=5)
    start, _ = checkpointer.restore({"model": model_c, "optimiser": optimiser_c})
    assert start == 10
    train(model_c, optimiser_c, checkpointer, start, 20, data)
    for a, c in zip(model.parameters(), model_c.parameters(), strict=True):
        assert torch.equal(a, c)


def test_restore_without_checkpoint_starts_at_zero(tmp_path):
    model, optimiser = fresh()
    assert Checkpointer(tmp_path / "none.pt", every=5).restore({"model": model})[0] == 0


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e9])
def test_guard_fires_with_the_name_and_step(value):
    with pytest.raises(DivergenceError, match="step 7: .*energy"):
        check_finite(7, limit=1e6, energy=value)


def test_maximise_stops_on_nan():
    w = torch.zeros(1, requires_grad=True)
    with pytest.raises(DivergenceError, match="objective is nan"):
        maximise(lambda: w.sum() * torch.tensor(math.nan), [w], steps=3)


def test_progress_log_prints_readable_lines(capsys):
    log = ProgressLog(every=2, prefix="demo ")
    for step in range(1, 5):
        log.log(step, 4, loss=1.0 / step)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("demo step      2/4  loss 0.5")
    assert log.history["loss"] == [1.0, 0.5, 1.0 / 3, 0.25]
