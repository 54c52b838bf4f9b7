"""Run one notebook with papermill, in a process of its own: the main job's child (:mod:`.pipeline`).

    python -m latentebm.reporting.execute --input NB --output EXECUTED --cwd DIR --parameters JSON --result JSON

Everything it needs comes in its arguments (it looks nothing up), and everything the main job needs from it goes
into the result file, rewritten atomically as facts arrive: the kernel's pid and connection file as soon as the
kernel started (so the parent can kill a kernel left behind), then ``"ok": true``, or ``"ok": false`` and the
failure (``kind``, ``cell`` execution count, ``error`` name, ``message``) that ``publish.record_status`` records.
Its own output, papermill's log, the cells' output and the kernel's log lines go to its stdout and stderr, which
the parent sends to the notebook's log file.

On SIGTERM (the parent's timeout or Ctrl-C) it kills its kernel's process group and exits at once; so it does
when its parent is gone (killed before it could stop this child).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from latentebm.reporting.records import write_json_atomic

TERMINATED = 128 + signal.SIGTERM
"""the exit status after SIGTERM"""


class Result:
    """The result file: every :meth:`update` rewrites it whole, atomically, with all the fields so far."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fields: dict[str, Any] = {}

    def update(self, **fields: Any) -> None:
        self.fields.update(fields)
        write_json_atomic(self.path, self.fields)


def read_result(path: Path) -> dict[str, Any]:
    """The result file's fields; ``{}`` when there is none (the child died before writing) or it is unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def kernel_manager_class(result: Result) -> type:
    """An ``AsyncKernelManager`` that writes its kernel's pid and connection file to ``result`` once started."""
    from jupyter_client import AsyncKernelManager

    class RecordingKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            await super().start_kernel(**kw)
            result.update(kernel={"pid": getattr(self.provisioner, "pid", None),
                                  "connection_file": self.connection_file})

    return RecordingKernelManager


def _reused(pid: int, connection_file: str | None) -> bool:
    """Whether ``pid`` now belongs to another process than the kernel: its command line (``/proc``, where there
    is one) no longer names the kernel's connection file."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return bool(connection_file) and connection_file not in cmdline.read_bytes().decode(errors="replace")
    except OSError:  # no such process, or no /proc
        return False


def kill_kernel(kernel: dict[str, Any] | None) -> None:
    """SIGKILL the process group of a kernel ``{"pid", "connection_file"}`` (jupyter_client starts each kernel in
    a session of its own, so the group holds the kernel and whatever it started) and remove its connection file.
    A pid since reused by another process is left alone."""
    pid, connection_file = (kernel or {}).get("pid"), (kernel or {}).get("connection_file")
    if not pid or _reused(pid, connection_file):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if connection_file:
        Path(connection_file).unlink(missing_ok=True)


def on_sigterm(result: Result):
    """A SIGTERM handler: kill the kernel recorded in ``result``, then exit without cleanup (it is a timeout)."""

    def handler(signum, frame) -> None:
        kill_kernel(result.fields.get("kernel"))
        print("latentebm.reporting.execute: terminated; kernel killed", file=sys.stderr, flush=True)
        os._exit(TERMINATED)

    return handler


def watch_parent(result: Result, every_s: float = 1.0) -> threading.Thread:
    """A daemon thread that kills the kernel and exits when the main job that started this process is gone (killed
    before it could stop this child): no notebook outlives its job."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        kill_kernel(result.fields.get("kernel"))
        print("latentebm.reporting.execute: the main job is gone; kernel killed", file=sys.stderr, flush=True)
        os._exit(TERMINATED)

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread


def last_started_cell(executed: Path) -> tuple[int | None, str]:
    """The code cell papermill started last in the executed copy (it saves the copy as each cell starts and ends,
    with ``metadata.papermill.start_time``): its execution count and its first non-blank line.

    A cell still running has no count saved yet: it gets one more than the cells before it (cells run in order
    from a fresh kernel). ``(None, "")`` when no cell started or the copy is unreadable."""
    import nbformat

    try:
        cells = nbformat.read(str(executed), as_version=4).cells
    except Exception:  # absent, or cut short by a kill mid-save
        return None, ""
    started = [cell for cell in cells if cell.cell_type == "code" and cell.metadata.get("papermill", {})
               .get("start_time")]
    if not started:
        return None, ""
    cell = started[-1]
    count = cell.get("execution_count") or max((c.get("execution_count") or 0 for c in started[:-1]), default=0) + 1
    return count, next((line.strip() for line in cell.source.splitlines() if line.strip()), "")


def failure_of(error: BaseException, executed: Path) -> dict[str, Any]:
    """The failure record of an exception out of papermill: a cell's error, a dead kernel, or anything else."""
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        return {"kind": "cell error", "cell": error.exec_count, "error": error.ename, "message": str(error.evalue)}
    cell, source = last_started_cell(executed)
    kind = "dead kernel" if isinstance(error, DeadKernelError) else "error"
    message = f"{error} (while running `{source}`)" if source else str(error)
    return {"kind": kind, "cell": cell, "error": type(error).__name__, "message": message}


def run(args: argparse.Namespace, result: Result) -> None:
    """Execute the notebook with papermill: the output copy is saved as each cell starts and ends."""
    import papermill

    papermill.execute_notebook(
        args.input, args.output, parameters=json.loads(args.parameters), cwd=args.cwd, kernel_name=args.kernel,
        progress_bar=False, log_output=True, kernel_manager_class=kernel_manager_class(result),
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m latentebm.reporting.execute", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="the notebook to run")
    parser.add_argument("--output", required=True, help="where the executed copy goes")
    parser.add_argument("--cwd", required=True, help="the kernel's working directory")
    parser.add_argument("--parameters", default="{}", help="papermill parameters, a JSON object")
    parser.add_argument("--result", required=True, help="the result file (JSON)")
    parser.add_argument("--kernel", default="python3", help="kernel name (default: python3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one notebook; 0 when it ran through, 1 when it failed (the failure is in the result file)."""
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    result = Result(Path(args.result))
    signal.signal(signal.SIGTERM, on_sigterm(result))
    watch_parent(result)
    try:
        run(args, result)
    except Exception as error:
        traceback.print_exc()
        result.update(ok=False, failure=failure_of(error, Path(args.output)))
        return 1
    result.update(ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
