"""Checkpoints resume to the same state (random streams and history included) and refuse a broken or foreign
file with one error naming it; the guard stops divergent training with a clear message."""

import math
import re

import numpy as np
import pytest
import torch
from latentebm import runtime
from latentebm.guards import DivergenceError, check_finite
from latentebm.training.loop import Checkpointer, CheckpointError, ProgressLog

CONFIG = {"lr": 0.1, "noise": 0.01, "betas": (0.9, 0.999)}


def train(model, optimiser, rng, checkpointer, start, stop, data, history):
    """A toy loop whose every step draws from ``rng`` (a minibatch and noise): resuming must restore it."""
    for step in range(start + 1, stop + 1):
        batch = data[torch.randint(0, len(data), (8,), generator=rng)]
        optimiser.zero_grad()
        noise = CONFIG["noise"] * torch.randn((), generator=rng)
        loss = ((model(batch) - 1.0) ** 2).mean() + noise
        loss.backward()
        optimiser.step()
        history.append(loss.item())
        if checkpointer.due(step):
            checkpointer.save(step, {"model": model, "optimiser": optimiser}, {"history": history}, {"batches": rng})


def fresh():
    """New objects as in a new process: the same initial weights and stream, nothing from the global stream."""
    with runtime.initialised_from(runtime.torch_generator(0)):
        model = torch.nn.Linear(3, 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=CONFIG["lr"], betas=CONFIG["betas"])
    return model, optimiser, runtime.torch_generator(7)


DATA = torch.randn(64, 3, generator=runtime.torch_generator(1))


def saved_checkpoint(path, config=CONFIG):
    model, optimiser, rng = fresh()
    train(model, optimiser, rng, Checkpointer(path, every=5, config=config), 0, 5, DATA, [])
    return model


def test_resume_equals_an_uninterrupted_run_streams_and_history_included(tmp_path):
    model, optimiser, rng = fresh()
    history = []
    train(model, optimiser, rng, Checkpointer(tmp_path / "a.pt", every=5, config=CONFIG), 0, 20, DATA, history)

    model_b, optimiser_b, rng_b = fresh()
    train(model_b, optimiser_b, rng_b, Checkpointer(tmp_path / "b.pt", every=5, config=CONFIG), 0, 12, DATA, [])
    model_c, optimiser_c, rng_c = fresh()  # a new process: fresh objects, state from disk (step 10, not 12)
    checkpointer = Checkpointer(tmp_path / "b.pt", every=5, config=CONFIG)
    global_before = torch.get_rng_state()
    start, extra = checkpointer.restore({"model": model_c, "optimiser": optimiser_c}, {"batches": rng_c})
    assert torch.equal(torch.get_rng_state(), global_before)  # the global stream is neither saved nor set
    assert start == 10 and len(extra["history"]) == 10
    resumed = list(extra["history"])
    train(model_c, optimiser_c, rng_c, checkpointer, start, 20, DATA, resumed)
    for a, c in zip(model.parameters(), model_c.parameters(), strict=True):
        assert torch.equal(a, c)
    assert resumed == history
    assert torch.equal(rng.get_state(), rng_c.get_state())
    assert optimiser.state_dict()["state"][0]["step"] == optimiser_c.state_dict()["state"][0]["step"]


def test_without_the_saved_stream_a_resumed_run_differs(tmp_path):
    # the check above can fail: a resumed run whose stream restarts from its seed goes elsewhere
    model, optimiser, rng = fresh()
    train(model, optimiser, rng, Checkpointer(tmp_path / "a.pt", every=0), 0, 20, DATA, [])
    saved_checkpoint(tmp_path / "b.pt")
    model_c, optimiser_c, rng_c = fresh()
    checkpointer = Checkpointer(tmp_path / "b.pt", every=5, config=CONFIG)
    start, _ = checkpointer.restore({"model": model_c, "optimiser": optimiser_c})  # stream not restored
    train(model_c, optimiser_c, rng_c, checkpointer, start, 20, DATA, [])
    assert not torch.equal(model.weight, model_c.weight)


def test_restore_without_checkpoint_starts_at_zero(tmp_path):
    model, _, rng = fresh()
    assert Checkpointer(tmp_path / "none.pt", every=5).restore({"model": model}, {"batches": rng}) == (0, {})


def test_the_two_argument_form_still_works(tmp_path):
    model, optimiser, _ = fresh()
    checkpointer = Checkpointer(tmp_path / "c.pt", 5)
    checkpointer.save(5, {"model": model, "optimiser": optimiser})
    assert checkpointer.restore({"model": model, "optimiser": optimiser}) == (5, {})


def refused(path, config=CONFIG, match="", rngs=None):
    """Restore from ``path``; return the CheckpointError message after checking that it names the file."""
    model, optimiser, rng = fresh()
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*" + match) as caught:
        Checkpointer(path, every=5, config=config).restore({"model": model, "optimiser": optimiser},
                                                           {"batches": rng} if rngs is None else rngs)
    message = str(caught.value)
    assert "weights_only" not in message
    return message


def test_an_empty_checkpoint_is_one_error_naming_the_file(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    refused(path, match="is empty")


def test_a_truncated_checkpoint_is_one_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.pt"
    saved_checkpoint(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refused(path, match="cannot be read")


def test_random_bytes_are_one_error_naming_the_file(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    refused(path, match="cannot be read")


def test_an_unchecked_file_is_refused(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"model": fresh()[0].state_dict(), "step": 5}, path)  # the format before checksums
    refused(path, match="is not a checked")


def test_a_flipped_bit_in_a_weight_is_detected(tmp_path):
    path = tmp_path / "flip.pt"
    model = saved_checkpoint(path)
    data = bytearray(path.read_bytes())
    weight = model.weight.detach().numpy().tobytes()
    at = data.find(weight)
    assert at >= 0 and data.find(weight, at + 1) < 0  # the weight's bytes, stored once, uncompressed
    data[at + 1] ^= 0b100
    path.write_bytes(bytes(data))
    # torch itself loads the damaged weight without complaint: only the checksum can tell
    damaged = torch.load(path, weights_only=True)["payload"]["state"]["model"]["weight"]
    assert not torch.equal(damaged, model.weight.detach())
    refused(path, match="fails its checksum")


def test_a_checkpoint_under_another_config_is_refused_with_both_configs(tmp_path):
    path = tmp_path / "config.pt"
    saved_checkpoint(path)
    message = refused(path, {**CONFIG, "lr": 0.01, "penalty": 1.0}, match="another config")
    assert "lr: 0.1 -> 0.01" in message and "penalty: (absent) -> 1.0" in message
    assert "'noise': 0.01" in message and "'penalty': 1.0" in message  # the saved and the new config
    model, optimiser, rng = fresh()  # the same config in another container type is the same config
    same = {**CONFIG, "betas": list(CONFIG["betas"])}
    assert Checkpointer(path, 5, same).restore({"model": model, "optimiser": optimiser}, {"batches": rng})[0] == 5


def test_a_stream_or_state_the_checkpoint_lacks_is_refused(tmp_path):
    path = tmp_path / "lacks.pt"
    saved_checkpoint(path)
    refused(path, rngs={"chains": torch.Generator()}, match="no random stream for \\['chains'\\]")


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e9])
def test_guard_fires_with_the_name_and_step(value):
    with pytest.raises(DivergenceError, match="step 7: .*energy"):
        check_finite(7, limit=1e6, energy=value)




def test_progress_log_prints_readable_lines(capsys):
    log = ProgressLog(every=2, prefix="demo ")
    for step in range(1, 5):
        log.log(step, 4, loss=1.0 / step)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("demo step      2/4  loss 0.5")
    assert log.history["loss"] == [1.0, 0.5, 1.0 / 3, 0.25]


def test_log_file_writes_its_lines_and_closes_and_none_is_no_log(tmp_path):
    from latentebm.training.loop import log_file

    with log_file(tmp_path / "logs" / "run.log", every=1, prefix="seed 3 ") as log:
        log.log(1, 2, loss=0.5)
    assert log.stream.closed
    assert (tmp_path / "logs" / "run.log").read_text().startswith("seed 3 step      1/2  loss 0.5")
    with log_file(None) as nothing:
        assert nothing is None


def test_progress_bar_only_on_a_terminal_or_when_asked(monkeypatch, capsys):
    from latentebm.training.loop import PROGRESS_ENV, show_bars

    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert not show_bars()  # pytest captures stderr: like a notebook kernel or a log, not a terminal
    log = ProgressLog(every=0)
    for step in range(1, 4):
        log.log(step, 3, loss=1.0)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(PROGRESS_ENV, "1")
    log = ProgressLog(every=0, prefix="demo ")
    for step in range(1, 4):
        log.log(step, 3, loss=1.0)
    assert "demo" in capsys.readouterr().err and log._bar.n == 3
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert not show_bars()
