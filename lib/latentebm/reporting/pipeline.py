"""The main job: execute every notebook headless with papermill, render its HTML report, write the index.

Each notebook runs in a child process (``latentebm.reporting.execute``) with a time limit, into
``build/<profile>/executed/<notebook>.ipynb`` with ``output_dir=build/<profile>``; the child's output (papermill,
the kernel's log, the cells' output) goes to ``build/<profile>/logs/<notebook>.log``. A cell error, a dead kernel,
a timeout or a failed render is that notebook's failure: its previous report is kept, the failure is named and
recorded (the index shows it), and the other notebooks still run. The index is written at the end in every case;
the exit status is 1 when a notebook failed, 2 for a bad argument (before any compute), 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentebm import catalogue, paths
from latentebm.catalogue.knobs import PROFILES, ParameterError, check_profile
from latentebm.reporting import execute as child
from latentebm.reporting import index, layout, publish

DEFAULT_TIMEOUT_S = {"ci": 1800, "full": 6 * 3600}
"""each notebook's time limit per profile (``--timeout``): ci notebooks take seconds to minutes on a CPU, full ones
up to hours on a GPU"""
GRACE_S = 5.0
"""how long a child may take to kill its kernel and exit after SIGTERM before it is SIGKILLed"""
SET_BY_PIPELINE = ("profile", "output_dir")
"""parameters the pipeline sets itself (``--profile``, and ``build/<profile>``); an override may not"""


def notebook_path(name: str) -> Path:
    return paths.notebooks_dir() / f"{name}.ipynb"


def render_report(executed: Path, target: Path, facts: dict | None = None, index_href: str = "index.html") -> Path:
    """:func:`latentebm.reporting.render.render_report`, imported when first used (nbconvert is slow to import)."""
    from latentebm.reporting import render

    return render.render_report(executed, target, facts, index_href=index_href)


def check_overrides(name: str, overrides: dict, profile: str = "ci") -> None:
    """Reject, before any compute, an override that names no parameter of the notebook or has a bad value.

    The check is the notebooks' own (:func:`latentebm.catalogue.resolve`, which ``configure`` runs)."""
    for key in SET_BY_PIPELINE:
        if key in overrides:
            raise ParameterError(f"parameter '{key}' is set by the pipeline (use --profile), not by -p {key}=...")
    catalogue.resolve(name, {**overrides, "profile": profile}, required=("profile",))
    try:
        json.dumps(overrides, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"overrides {overrides!r} cannot be passed to a notebook: {error}") from None


def select(patterns: list[str] | None) -> list[catalogue.NotebookSpec]:
    """The notebooks named by ``patterns`` (full names or prefixes: ``05``, ``0``), in notebook order; all of
    them when there is none. A pattern matching no notebook is a ParameterError naming the known ones."""
    specs = catalogue.all_specs()
    if not patterns:
        return specs
    unknown = [p for p in patterns if not any(spec.name.startswith(p) for spec in specs)]
    if unknown:
        raise ParameterError(f"--only {' '.join(unknown)}: no such notebook; known: {[s.name for s in specs]}")
    return [spec for spec in specs if any(spec.name.startswith(p) for p in patterns)]


def shown(path: Path) -> str:
    """``path`` relative to the repository root when it lies inside it (what a failure line names)."""
    try:
        return str(Path(path).relative_to(paths.repository_root()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Files:
    """One notebook's files under ``build/<profile>/``: the executed copy, the child's log and result."""

    executed: Path
    log: Path
    result: Path
    report: Path
    """where the report is rendered before it replaces the published one"""
    outputs: tuple[Path, ...] = ()
    """what the notebook itself writes under build/<profile>/ (metrics, run record, figures)"""

    @classmethod
    def of(cls, build_dir: Path, name: str) -> Files:
        logs = build_dir / "logs"
        return cls(build_dir / "executed" / f"{name}.ipynb", logs / f"{name}.log", logs / f"{name}.result.json",
                   build_dir / "reports" / f"{name}.html",
                   (build_dir / "metrics" / f"{name}.json", build_dir / "runs" / f"{name}.json",
                    build_dir / "figures" / name))

    def fresh(self) -> None:
        """Make the folders and forget everything of the last run (a dead child must not leave its copy, result,
        metrics or figures to be read or published as this run's)."""
        for path in (self.executed, self.result, self.report, *self.outputs):
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                shutil.rmtree(path)
            path.unlink(missing_ok=True)


def child_command(name: str, profile: str, build_dir: Path, overrides: dict, files: Files) -> list[str]:
    """The command line of the child that runs notebook ``name`` (:mod:`.execute`): explicit paths, nothing implied."""
    parameters = {"profile": profile, "output_dir": str(build_dir), **overrides}
    return [sys.executable, "-m", "latentebm.reporting.execute", "--input", str(notebook_path(name)),
            "--output", str(files.executed), "--cwd", str(paths.notebooks_dir()),
            "--parameters", json.dumps(parameters), "--result", str(files.result)]


def _tee(pipe, log, out) -> None:
    """Copy the child's output, line by line, to its log and to the terminal (``--verbose``)."""
    for line in iter(pipe.readline, b""):
        log.write(line)
        log.flush()
        out.write(line.decode(errors="replace"))
        out.flush()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop(process: subprocess.Popen, files: Files) -> None:
    """Stop a child and its kernel, quickly (nox gives a job 0.3 s after Ctrl-C): SIGKILL the kernel the child
    recorded, SIGTERM the child's process group (it kills its kernel too and exits), SIGKILL it after
    :data:`GRACE_S`, and kill the kernel again in case it started meanwhile."""
    child.kill_kernel(child.read_result(files.result).get("kernel"))
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    child.kill_kernel(child.read_result(files.result).get("kernel"))


def run_child(command: list[str], files: Files, timeout: float | None, verbose: bool) -> int | None:
    """Run the child in a session of its own (Ctrl-C at the terminal reaches only the main job, which stops it),
    its output to the log (and the terminal when ``verbose``); its exit status, or ``None`` after ``timeout``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with files.log.open("wb") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if verbose else log,
                                   stderr=subprocess.STDOUT, start_new_session=True, env=env)
        copier = threading.Thread(target=_tee, args=(process.stdout, log, sys.stdout), daemon=True)
        if verbose:
            copier.start()
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
            stop(process, files)
        except BaseException:  # Ctrl-C: no child, no kernel left running
            stop(process, files)
            raise
        finally:
            if verbose:
                copier.join(GRACE_S)
                process.stdout.close()
        if code:  # a child that died (SIGKILL, out of memory) may have left its kernel behind
            child.kill_kernel(child.read_result(files.result).get("kernel"))
        return code


@dataclass(frozen=True)
class Job:
    """What every notebook of one main job shares."""

    profile: str
    build_dir: Path
    overrides: dict[str, Any]
    timeout: float | None
    """seconds per notebook; ``None``: no limit"""
    verbose: bool = False


def time_limit(profile: str, timeout: float | None) -> float | None:
    """Seconds per notebook: the profile's default when ``timeout`` is None, no limit (None) when it is 0."""
    return (DEFAULT_TIMEOUT_S[profile] if timeout is None else timeout) or None


def failure(kind: str, error: str, message: str, cell: int | None = None) -> dict[str, Any]:
    """A failure record as ``publish.record_status`` takes it."""
    return {"kind": kind, "cell": cell, "error": error, "message": message}


def died(code: int) -> dict[str, Any]:
    """The failure of a child that ended without writing its outcome (killed, out of memory, a bug of its own)."""
    how = f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else f"exit status {code}"
    return failure("runner died", how, "the notebook's child process ended without a result; see its log")


def run_notebook(name: str, job: Job) -> dict[str, Any] | None:
    """Execute notebook ``name`` in a child process; ``None`` when it ran through, else its failure."""
    files = Files.of(job.build_dir, name)
    files.fresh()
    code = run_child(child_command(name, job.profile, job.build_dir, job.overrides, files), files, job.timeout,
                     job.verbose)
    if code is None:
        cell, source = child.last_started_cell(files.executed)
        where = f" in `{source}`" if source else " (no cell had started)"
        return failure("timeout", "Timeout", f"still running after {job.timeout:g} s{where}", cell)
    result = child.read_result(files.result)
    if code == 0 and result.get("ok"):
        return None
    return result.get("failure") or died(code)


class NotebookFailed(RuntimeError):
    """A notebook did not run through; the message names the notebook, the cell and the error."""


def execute(name: str, profile: str, build_dir: Path, overrides: dict | None = None,
            timeout: float | None = None) -> Path:
    """Run one notebook as the main job does, without rendering or publishing (the figure-regression tests and
    ``tests/update_baselines.py`` use it): the executed copy, or NotebookFailed naming the cell and the error."""
    overrides = dict(overrides or {})
    check_overrides(name, overrides, profile)
    job = Job(profile, Path(build_dir), overrides, time_limit(profile, timeout))
    outcome = run_notebook(name, job)
    files = Files.of(job.build_dir, name)
    if outcome is not None:
        raise NotebookFailed(f"notebook {name}: {describe(outcome)}; log: {shown(files.log)}")
    return files.executed


def publish_run(spec: catalogue.NotebookSpec, job: Job, wall_s: float) -> dict[str, Any] | None:
    """Render the report under build/, publish the metrics, run facts and thumbnail, and only then move the report
    into its place; the failure, if any (a failed render or publish leaves the previous report as it was)."""
    files = Files.of(job.build_dir, spec.name)
    facts = {**publish.run_facts(job.build_dir, spec.name, job.profile, wall_s), "overrides": job.overrides}
    try:
        render_report(files.executed, files.report, facts)
    except Exception as error:
        return failure("render error", type(error).__name__, str(error))
    try:
        publish.publish(spec, job.build_dir, job.profile, facts)
        target = layout.report_path(job.profile, spec.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(files.report, target)  # a rename when build/ and reports/ share a file system
    except Exception as error:
        return failure("publish error", type(error).__name__, str(error))
    return None


def describe(failure: dict[str, Any]) -> str:
    """``dead kernel in cell 7 (DeadKernelError: Kernel died ...)``, on one line."""
    where = f" in cell {failure['cell']}" if failure.get("cell") is not None else ""
    message = " ".join(str(failure.get("message", "")).split())
    message = message if len(message) <= 300 else message[:297] + "..."
    return f"{failure['kind']}{where} ({failure['error']}: {message})"


def run_one(spec: catalogue.NotebookSpec, label: str, job: Job) -> bool:
    """Execute, render, publish and record one notebook, with its two progress lines; whether it succeeded."""
    print(f"{label} ...", flush=True)
    started = time.perf_counter()
    outcome = run_notebook(spec.name, job)
    if outcome is None:
        outcome = publish_run(spec, job, time.perf_counter() - started)
    publish.record_status(job.profile, spec.name, outcome)
    elapsed = time.perf_counter() - started
    if outcome is None:
        print(f"{label} ok in {elapsed:.1f} s", flush=True)
        return True
    files = Files.of(job.build_dir, spec.name)
    print(f"{label} FAILED after {elapsed:.1f} s: {describe(outcome)}\n"
          f"    log: {shown(files.log)}; executed copy: {shown(files.executed)}", flush=True)
    return False


def write_index(profile: str) -> str:
    """Write the index (every job ends with it, whatever happened); where it went, or why it did not."""
    try:
        return shown(index.write(profile) or layout.index_path(profile))
    except Exception as error:
        print(f"error: the index was not written: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return "not written"


def summary(ok: list[str], failed: list[str], elapsed: float, index_at: str) -> str:
    failures = f", {len(failed)} failed ({', '.join(failed)}; their previous reports kept)" if failed else ""
    return f"{len(ok)} ok{failures} in {elapsed:.1f} s; index: {index_at}"


def build(profile: str, names: list[str] | None = None, overrides: dict | None = None,
          timeout: float | None = None, verbose: bool = False) -> int:
    """Execute, render and index the notebooks ``names`` (prefixes; default all); return the exit status: 0 when
    every one succeeded, 1 when one failed, 130 after Ctrl-C. A bad argument raises ParameterError first."""
    check_profile(profile)
    overrides, specs = dict(overrides or {}), select(names)
    for spec in specs:
        check_overrides(spec.name, overrides, profile)
    job = Job(profile, paths.repository_root() / "build" / profile, overrides, time_limit(profile, timeout), verbose)
    started, ok, failed = time.perf_counter(), [], []
    try:
        for number, spec in enumerate(specs, start=1):
            (ok if run_one(spec, f"[{number}/{len(specs)}] {spec.name}", job) else failed).append(spec.name)
    except KeyboardInterrupt:
        stopped = specs[min(len(ok) + len(failed), len(specs) - 1)].name
        print(f"interrupted: {stopped} was stopped and the notebooks after it not run", file=sys.stderr, flush=True)
        publish.record_status(profile, stopped, failure("interrupted", "KeyboardInterrupt", "stopped by Ctrl-C"))
        return 130
    finally:  # the index, whatever happened
        print(summary(ok, failed, time.perf_counter() - started, write_index(profile)), flush=True)
    return 1 if failed else 0


def _parse_override(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with VALUE read as a Python literal (``3``, ``0.1``, ``[1, 2]``, ``True``) or a string."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def list_notebooks(specs: list[catalogue.NotebookSpec]) -> None:
    """``--list``: each notebook's name and title, and the result it derives."""
    for spec in specs:
        print(f"{spec.name}  {spec.title}\n    derives: {spec.derives}")


EPILOG = f"""examples:
  python -m latentebm.reporting                            every notebook, ci profile
  python -m latentebm.reporting --only 05 06 -p seed=1     notebooks 05_* and 06_*, seed 1
  python -m latentebm.reporting --profile full --timeout 0 paper scale, no time limit
  python -m latentebm.reporting --list                     the notebooks and what each derives

default --timeout per profile: {', '.join(f'{p} {s} s' for p, s in DEFAULT_TIMEOUT_S.items())}.
Each notebook's log: build/<profile>/logs/<notebook>.log; its executed copy: build/<profile>/executed/.
Exit status: 0 all ok, 1 a notebook failed, 2 a bad argument (nothing ran), 130 interrupted."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m latentebm.reporting", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="ci", help=f"one of {', '.join(PROFILES)}: ci (CPU, minutes; the "
                        "default) or full (paper scale, GPU)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="notebooks to run, by full name or prefix "
                        "(05, 0, 03_kale_topology); default: all")
    parser.add_argument("-p", dest="overrides", action="append", type=_parse_override, default=[],
                        metavar="NAME=VALUE", help="parameter override for every notebook run, e.g. -p seed=1")
    parser.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="time limit per notebook; 0: none "
                        f"(default: {DEFAULT_TIMEOUT_S['ci']} for ci, {DEFAULT_TIMEOUT_S['full']} for full)")
    parser.add_argument("--verbose", action="store_true", help="stream each notebook's log (papermill, kernel, "
                        "cell output) to the terminal too")
    parser.add_argument("--list", action="store_true", help="list the notebooks (with --only: those) and exit")
    return parser


@contextlib.contextmanager
def sigterm_as_ctrl_c():
    """While the job runs, SIGTERM (``kill``; nox after Ctrl-C) stops it as Ctrl-C does: child and kernel killed,
    index written."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.list:
            list_notebooks(select(args.only))
            return 0
        with sigterm_as_ctrl_c():
            return build(args.profile, args.only, dict(args.overrides), args.timeout, args.verbose)
    except ParameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
