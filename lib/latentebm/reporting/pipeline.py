"""The main job: execute every notebook headless with papermill, render HTML reports, write the index.

Each notebook runs into ``build/<profile>/executed/`` with ``output_dir=build/<profile>``; its HTML report is
written to a temporary name in ``reports/`` and moved into place only when the notebook succeeded, so a failed
run never replaces a good report. One progress line per notebook, with its elapsed time.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
import time
from pathlib import Path

from latentebm import catalogue, paths
from latentebm.catalogue.knobs import ParameterError, check_profile
from latentebm.reporting import index
from latentebm.reporting.records import _atomic_write, metrics_path


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the error."""


def notebook_path(name: str) -> Path:
    return paths.notebooks_dir() / f"{name}.ipynb"


SET_BY_PIPELINE = ("profile", "output_dir")
"""parameters the pipeline sets itself (``--profile``, and ``build/<profile>``); an override may not"""


def check_overrides(name: str, overrides: dict, profile: str = "ci") -> None:
    """Reject, before any compute, an override that names no parameter of the notebook or has a bad value.

    The check is the notebooks' own (:func:`latentebm.catalogue.resolve`, which ``configure`` runs)."""
    for key in SET_BY_PIPELINE:
        if key in overrides:
            raise ParameterError(f"parameter '{key}' is set by the pipeline (use --profile), not by -p {key}=...")
    catalogue.resolve(name, {**overrides, "profile": profile}, required=("profile",))


def execute(name: str, profile: str, build_dir: Path, overrides: dict | None = None) -> Path:
    """Run one notebook with papermill; return the executed copy or raise NotebookFailed."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    overrides = dict(overrides or {})
    check_overrides(name, overrides, profile)
    executed = build_dir / "executed" / f"{name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    parameters = {"profile": profile, "output_dir": str(build_dir), **overrides}
    try:
        papermill.execute_notebook(
            str(notebook_path(name)),
            str(executed),
            parameters=parameters,
            cwd=str(paths.notebooks_dir()),
            progress_bar=False,
            kernel_name="python3",
        )
    except PapermillExecutionError as error:
        raise NotebookFailed(
            f"notebook {name} failed in cell {error.exec_count} ({error.ename}): {error.evalue}\n"
            f"  executed copy with the traceback: {executed}"
        ) from None
    return executed


def render_html(executed: Path, target: Path) -> Path:
    """Render an executed notebook to a self-contained HTML file (figures inline), atomically."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(embed_images=True).from_filename(str(executed))
    return _atomic_write(target, lambda tmp: tmp.write_text(body, encoding="utf-8"))


def publish_metrics(name: str, build_dir: Path, profile: str) -> None:
    """Copy the notebook's metrics JSON next to the reports (committed for the ``ci`` profile)."""
    source = metrics_path(build_dir, name)
    if source.is_file():
        target = paths.reports_dir() / "metrics" / profile / source.name
        _atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))


def build(profile: str, names: list[str] | None = None, overrides: dict | None = None) -> int:
    """Execute, render and index; return a process exit code (0 when every notebook succeeded)."""
    check_profile(profile)
    specs = [catalogue.get(name) for name in names] if names else catalogue.all_specs()
    for spec in specs:
        check_overrides(spec.name, overrides or {}, profile)
    build_dir = paths.repository_root() / "build" / profile
    failures = []
    for number, spec in enumerate(specs, start=1):
        started = time.perf_counter()
        prefix = f"[{number}/{len(specs)}] {spec.name}"
        print(f"{prefix} ...", flush=True)
        try:
            executed = execute(spec.name, profile, build_dir, overrides)
            suffix = "" if profile == "ci" else f".{profile}"
            render_html(executed, paths.reports_dir() / f"{spec.name}{suffix}.html")
            publish_metrics(spec.name, build_dir, profile)
        except NotebookFailed as error:
            failures.append(str(error))
            print(f"{prefix} FAILED after {time.perf_counter() - started:.1f} s\n  {error}", flush=True)
            continue
        print(f"{prefix} ok in {time.perf_counter() - started:.1f} s", flush=True)
    index.write(profile)
    print(f"index: {paths.reports_dir() / 'index.html'}", flush=True)
    if failures:
        print(f"{len(failures)} notebook(s) failed; their previous reports were kept.", file=sys.stderr)
        return 1
    return 0


def _parse_override(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with VALUE read as a Python literal (``3``, ``0.1``, ``[1, 2]``, ``True``) or a string."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentebm.reporting", description=__doc__)
    parser.add_argument("--profile", default="ci", help="ci (CPU, minutes) or full (paper scale, GPU)")
    parser.add_argument("--only", nargs="*", help="notebook names to run (default: all)")
    parser.add_argument("-p", dest="overrides", action="append", type=_parse_override, default=[],
                        help="NAME=VALUE parameter override for every notebook run, e.g. -p seed=1")
    args = parser.parse_args(argv)
    try:
        return build(args.profile, args.only, dict(args.overrides))
    except ParameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
