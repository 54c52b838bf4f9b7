"""Refresh tests/baselines/<notebook>/<key>.npz from a fresh ci run of each notebook (or those named).

    python tests/update_baselines.py [--no-execute] [NAME ...]

``--no-execute`` copies the arrays of the last ci run in build/ci (e.g. right after a refresh) instead of
executing the notebooks again.
"""

from __future__ import annotations

import shutil
import sys

from latentebm import catalogue, paths
from latentebm.reporting.pipeline import execute
from latentebm.reporting.records import figure_arrays_path


def main(args: list[str]) -> None:
    execute_first = "--no-execute" not in args
    names = [arg for arg in args if not arg.startswith("--")]
    build = paths.resolve("build/ci")
    for spec in catalogue.all_specs():
        if names and spec.name not in names:
            continue
        if execute_first:
            print(f"executing {spec.name} ...", flush=True)
            execute(spec.name, "ci", build)
        for figure in spec.figures:
            source = figure_arrays_path(build, spec.name, figure.key)
            target = paths.repository_root() / "tests" / "baselines" / spec.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            print(f"  baseline {target.relative_to(paths.repository_root())}")


if __name__ == "__main__":
    main(sys.argv[1:])
