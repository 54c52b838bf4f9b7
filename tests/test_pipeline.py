"""The main job (``python -m latentebm.reporting``) on tiny notebooks: a cell error, a dead kernel, a timeout and a
failed render each fail only their notebook (previous report kept, failure named and recorded, index written, exit
status 1); no kernel outlives its notebook; the terminal shows progress lines, the log file the child's output;
``--only`` takes prefixes, ``--list`` lists; overrides are checked before any compute."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import nbformat
import psutil
import pytest
from latentebm import catalogue
from latentebm.parameters import ParameterError, configure
from latentebm.reporting import execute, layout, pipeline

PREVIOUS = "previous good report"


def write_notebook(path, *sources: str) -> None:
    """A notebook with a ``parameters`` cell (what papermill injects after) and one code cell per source."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("profile = 'ci'\noutput_dir = 'x'", metadata={"tags": ["parameters"]}),
                      *(nbformat.v4.new_code_cell(source) for source in sources)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository in ``tmp_path`` whose catalogue is the notebooks given (``{name: [cell source, ...]}``), each
    with a previous report; reports are rendered by a stand-in that records the facts it was given (and raises
    for a notebook named ``*_unrenderable``)."""
    rendered = {}

    def fake_render(executed, target, facts=None, index_href="index.html"):
        if "unrenderable" in executed.name:
            raise ValueError("the template broke")
        rendered[executed.stem] = facts
        target.write_text(f"new report of {executed.stem}")
        return target

    def make(notebooks: dict[str, list[str]]):
        (tmp_path / "notebooks").mkdir()
        for name, sources in notebooks.items():
            write_notebook(tmp_path / "notebooks" / f"{name}.ipynb", *sources)
            layout.report_path("ci", name).parent.mkdir(parents=True, exist_ok=True)
            layout.report_path("ci", name).write_text(PREVIOUS)
        specs = [catalogue.NotebookSpec(name=name, title=f"title {name}", derives=f"derives {name}")
                 for name in notebooks]
        monkeypatch.setattr(catalogue, "all_specs", lambda: specs)
        return rendered

    monkeypatch.setattr("latentebm.paths.repository_root", lambda: tmp_path)
    monkeypatch.setattr("latentebm.paths.reports_dir", lambda: tmp_path / "reports")
    monkeypatch.setattr("latentebm.paths.notebooks_dir", lambda: tmp_path / "notebooks")
    monkeypatch.setattr(pipeline, "render_report", fake_render)
    return make


def status(name: str) -> dict:
    return json.loads(layout.status_path("ci").read_text())[name]


def assert_gone(tmp_path, kernel: dict, within: float = 1.0) -> None:
    """Neither the notebook's kernel nor any process started with its files (the child) is left running (zombies
    aside: init reaps them) ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [p for p in psutil.process_iter(["pid", "cmdline", "status"]) if p.info["status"] != "zombie"
                 and (p.info["pid"] == kernel["pid"] or str(tmp_path) in " ".join(p.info["cmdline"] or ()))]
        if not alive:
            return
        time.sleep(0.2)
    for process in alive:  # leave no stray kernel behind a failed test either
        process.kill()
    raise AssertionError(f"left running: {[p.info for p in alive]}")


def test_dead_kernel_and_failed_render_fail_only_their_notebook(tmp_path, project, capfd):
    rendered = project({
        "01_dies": ["x = 1", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
        "02_fine": ["print('hello from the cell')"],
        "03_unrenderable": ["y = 2"],
    })
    assert pipeline.main([]) == 1
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert lines[0] == "[1/3] 01_dies ..."
    assert "[1/3] 01_dies FAILED after" in out and "dead kernel in cell 4 (DeadKernelError" in out
    assert "log: build/ci/logs/01_dies.log" in out
    assert any(line.startswith("[2/3] 02_fine ok in ") and line.endswith(" s") for line in lines)
    assert "[3/3] 03_unrenderable FAILED" in out and "render error (ValueError: the template broke)" in out
    assert lines[-1].startswith("1 ok, 2 failed (01_dies, 03_unrenderable") and "index: reports/index.html" in out
    assert status("01_dies")["failure"]["kind"] == "dead kernel" and status("01_dies")["failure"]["cell"] == 4
    assert status("02_fine")["ok"] and status("03_unrenderable")["failure"]["kind"] == "render error"
    assert layout.report_path("ci", "01_dies").read_text() == PREVIOUS
    assert layout.report_path("ci", "03_unrenderable").read_text() == PREVIOUS
    assert layout.report_path("ci", "02_fine").read_text() == "new report of 02_fine"
    assert layout.index_path("ci").is_file()
    published = json.loads(layout.published_run_path("ci", "02_fine").read_text())
    assert rendered["02_fine"] == published and published["wall_s"] > 0  # the report shows the published facts
    assert "IPKernelApp" not in out + err and "papermill" not in out + err  # quiet: the child's output is logged
    log = (tmp_path / "build" / "ci" / "logs" / "02_fine.log").read_text()
    assert "IPKernelApp" in log and "hello from the cell" in log


def test_timeout_names_the_running_cell_and_leaves_no_process(tmp_path, project, capsys):
    project({"01_slow": ["import time", "time.sleep(60)  # the slow cell"]})
    started = time.monotonic()
    assert pipeline.main(["--timeout", "10"]) == 1
    assert time.monotonic() - started < 30
    out = capsys.readouterr().out
    assert "01_slow FAILED after" in out and "timeout in cell 4 (Timeout: still running after 10 s" in out
    assert "time.sleep(60)" in out
    assert status("01_slow")["failure"] == {"kind": "timeout", "cell": 4, "error": "Timeout",
                                            "message": "still running after 10 s in `time.sleep(60)  # the slow cell`"}
    assert layout.report_path("ci", "01_slow").read_text() == PREVIOUS
    kernel = execute.read_result(tmp_path / "build" / "ci" / "logs" / "01_slow.result.json")["kernel"]
    assert_gone(tmp_path, kernel)
    assert not os.path.exists(kernel["connection_file"])


def test_ctrl_c_stops_the_notebook_and_its_kernel_and_writes_the_index(tmp_path, project, capsys):
    project({"01_slow": ["import time; time.sleep(60)"], "02_never": ["pass"]})
    result = tmp_path / "build" / "ci" / "logs" / "01_slow.result.json"

    def interrupt_once_the_kernel_runs() -> None:
        deadline = time.monotonic() + 30
        while "kernel" not in execute.read_result(result) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # into the sleeping cell
        os.kill(os.getpid(), signal.SIGINT)

    # a shell starts background jobs with SIGINT ignored, and Python then keeps it so: restore Ctrl-C's handler
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Thread(target=interrupt_once_the_kernel_runs, daemon=True)
    timer.start()
    try:
        assert pipeline.main([]) == 130
    finally:
        timer.join(timeout=5)
        signal.signal(signal.SIGINT, previous)
    captured = capsys.readouterr()
    assert "interrupted: 01_slow was stopped" in captured.err and "[2/2]" not in captured.out
    assert layout.index_path("ci").is_file() and layout.report_path("ci", "01_slow").read_text() == PREVIOUS
    kernel = execute.read_result(tmp_path / "build" / "ci" / "logs" / "01_slow.result.json")["kernel"]
    assert_gone(tmp_path, kernel)
    assert not os.path.exists(kernel["connection_file"])


def test_a_killed_main_job_leaves_no_kernel(tmp_path, project):
    project({"01_slow": ["import time; time.sleep(60)"]})
    files = pipeline.Files.of(tmp_path / "build" / "ci", "01_slow")
    files.fresh()
    command = pipeline.child_command("01_slow", "ci", tmp_path / "build" / "ci", {}, files)
    starter = "import subprocess, sys, time; subprocess.Popen(sys.argv[1:], start_new_session=True); time.sleep(60)"
    job = subprocess.Popen([sys.executable, "-c", starter, *command], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while "kernel" not in execute.read_result(files.result) and time.monotonic() < deadline:
        time.sleep(0.2)
    job.kill()  # SIGKILL: the main job cannot stop its child; the child sees it gone and kills its kernel
    job.wait()
    assert_gone(tmp_path, execute.read_result(files.result)["kernel"], within=5)


def test_verbose_streams_the_childs_output(tmp_path, project, capfd):
    project({"01_fine": ["print('hello from the cell')"]})
    assert pipeline.main(["--verbose"]) == 0
    out = capfd.readouterr().out
    assert "hello from the cell" in out and "[1/1] 01_fine ok in" in out
    assert "hello from the cell" in (tmp_path / "build" / "ci" / "logs" / "01_fine.log").read_text()


def test_only_takes_names_and_prefixes_in_notebook_order():
    names = [spec.name for spec in catalogue.all_specs()]
    assert [s.name for s in pipeline.select(["06", "05"])] == ["05_gebm_training", "06_latent_sampling"]
    zeros = [name for name in names if name.startswith("0")]
    assert [s.name for s in pipeline.select(["0"])] == zeros
    assert [s.name for s in pipeline.select([names[2], "0"])] == zeros  # overlapping patterns: each notebook once
    firsts = sorted({name[0] for name in names}, reverse=True)  # prefixes given out of order
    assert [s.name for s in pipeline.select(firsts)] == names
    assert [s.name for s in pipeline.select(None)] == names


def test_unknown_notebook_is_refused_before_any_compute(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("latentebm.paths.repository_root", lambda: tmp_path)
    assert pipeline.main(["--only", "05", "9x", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "--only 9x bogus: no such notebook" in err and "05_gebm_training" in err
    assert not (tmp_path / "build").exists()


def test_list_prints_each_notebook_and_what_it_derives(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("latentebm.paths.repository_root", lambda: tmp_path)
    assert pipeline.main(["--list"]) == 0
    out = capsys.readouterr().out
    for spec in catalogue.all_specs():
        assert f"{spec.name}  {spec.title}" in out and spec.derives in out
    assert not (tmp_path / "build").exists()
    assert pipeline.main(["--list", "--only", "07"]) == 0
    assert capsys.readouterr().out.startswith("07_realnvp_sanity_check")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"lipschitz": float("nan")}, "'lipschitz' must be a finite number"),  # configure's own check
        ({"lipschitz": "nan"}, "'lipschitz' must be a number"),  # -p lipschitz=nan parses to a string
        ({"seed": 2**32}, "'seed' must be a whole number in"),
        ({"n_seeds": {"a": 1}}, "'n_seeds' must be a number"),
        ({"profile": "full"}, "'profile' is set by the pipeline"),
        ({"output_dir": "/tmp"}, "'output_dir' is set by the pipeline"),
    ],
)
def test_override_with_a_bad_value_is_refused_by_the_notebooks_own_check(overrides, named):
    with pytest.raises(ParameterError, match=named):
        pipeline.check_overrides("01_f_divergence_duals", overrides)


def test_overrides_are_checked_against_the_profile_run():
    pipeline.check_overrides("01_f_divergence_duals", {"seed": 1, "n_seeds": 5}, "full")
    with pytest.raises(ParameterError, match="'profile'"):
        pipeline.build("fast")


def test_pipeline_and_configure_share_one_validation(monkeypatch):
    seen = []
    real = catalogue.resolve
    monkeypatch.setattr(catalogue, "resolve", lambda *args, **kwargs: seen.append(args[0]) or real(*args, **kwargs))
    pipeline.check_overrides("01_f_divergence_duals", {"n_seeds": 5})
    configure("01_f_divergence_duals", {"profile": "ci", "seed": 0, "device": "cpu", "output_dir": "build/test"})
    assert seen == ["01_f_divergence_duals", "01_f_divergence_duals"]


def test_failing_notebook_names_cell_and_keeps_old_report(tmp_path, monkeypatch, capsys):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("profile = 'ci'\noutput_dir = 'x'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise ValueError('deliberate failure')"),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    reports = tmp_path / "reports"
    reports.mkdir()
    (tmp_path / "notebooks").mkdir()
    (reports / "01_f_divergence_duals.html").write_text("previous good report")
    monkeypatch.setattr(pipeline, "notebook_path", lambda name: path)
    monkeypatch.setattr("latentebm.paths.reports_dir", lambda: reports)
    monkeypatch.setattr("latentebm.paths.repository_root", lambda: tmp_path)
    monkeypatch.setattr("latentebm.paths.notebooks_dir", lambda: tmp_path / "notebooks")
    monkeypatch.setattr(catalogue, "all_specs", lambda: [catalogue.NotebookSpec(
        name="01_f_divergence_duals", title="t", derives="d")])
    code = pipeline.build("ci")
    out = capsys.readouterr().out
    assert code == 1
    assert "01_f_divergence_duals FAILED" in out and "ValueError" in out and "deliberate failure" in out
    assert "cell" in out
    assert (reports / "01_f_divergence_duals.html").read_text() == "previous good report"
