"""Re-execute notebooks in place in the ``ci`` profile, so each paired ``.ipynb`` holds the outputs that nbval
re-runs against. The py:percent source is read (it is the source of truth), executed from ``notebooks/``,
and written to both files of the pair, which keeps them in sync.

    python -m latentebm.reporting.refresh 01_f_divergence_duals [...]   (no name: every notebook)
"""

from __future__ import annotations

import sys
import time

import jupytext
from nbclient import NotebookClient

from latentebm import catalogue, paths


def refresh(name: str, timeout: int = 1800) -> float:
    """Execute ``notebooks/<name>.py`` and write the executed pair; return the elapsed seconds."""
    source = paths.notebooks_dir() / f"{name}.py"
    notebook = jupytext.read(source)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(paths.notebooks_dir())}}).execute()
    elapsed = time.perf_counter() - started
    jupytext.write(notebook, source.with_suffix(".ipynb"), fmt="ipynb")
    jupytext.write(notebook, source, fmt="py:percent")
    return elapsed


def main(names: list[str]) -> None:
    for name in names or [spec.name for spec in catalogue.all_specs()]:
        print(f"{name} ...", flush=True)
        print(f"{name} refreshed in {refresh(name):.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
