"""Every command the project runs, each in its own virtualenv built from pyproject.toml's exact pins.

    nox -s reports      the main job: execute every notebook (ci profile), render reports/ and its index
    nox -s lint tests   the tests: ruff, unit tests, every notebook under nbval, figure regression
    nox -s refresh      re-execute notebooks in place so the paired .ipynb holds fresh ci outputs
    nox -s bench        speed benchmarks (never part of the tests)
    nox -s baselines    refresh tests/baselines from a fresh ci run (review the diff before committing)
    nox -s wheels       check that every pin has a wheel for every supported Python (asks the package index)

Every session runs on one supported Python (:data:`SUPPORTED`), chosen by :func:`choose_python`: the interpreter
running nox when it is supported, else the newest supported one that runs from the PATH, else the newest supported
version, which nox downloads when it can (nox installed with its ``pbs`` extra) and otherwise reports as missing:
an error, never a silent skip.

Pass arguments after ``--``: ``nox -s reports -- --profile full --only 05_gebm_training``.
"""

import shutil
import subprocess
import sys
from collections.abc import Callable

import nox

SUPPORTED = ("3.13", "3.12", "3.11")
"""the Pythons the pinned stack has wheels for (``python tests/check_wheels.py``), newest first; pyproject.toml's
requires-python says the same"""


def runs_as(command: str, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The ``X.Y`` version of the interpreter ``command`` on the PATH, or ``None`` when it is not there or does not
    run (a pyenv shim for a version that is installed but not selected)."""
    path = which(command)
    if path is None:
        return None
    try:
        done = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def choose_python(running: str, probe: Callable[[str], str | None] = runs_as) -> tuple[str, str | None]:
    """(the version the sessions ask nox for, a message when none of :data:`SUPPORTED` was found).

    ``running`` is the ``X.Y`` of the interpreter running nox; ``probe(command)`` gives the version that
    ``command`` (``python3.13``, ...) runs as, or ``None``. nox's ``--force-python X.Y`` overrides the choice."""
    if running in SUPPORTED:
        return running, None
    for version in SUPPORTED:
        if probe(f"python{version}") == version:
            return version, None
    return SUPPORTED[0], (f"no supported Python found (this project supports {', '.join(SUPPORTED)}; nox runs on "
                          f"{running}). Install one, or install nox with its pbs extra "
                          f"(pip install 'nox[pbs]') so that it downloads Python {SUPPORTED[0]}.")


PYTHON, PROBLEM = choose_python(f"{sys.version_info[0]}.{sys.version_info[1]}")
if PROBLEM:
    print(f"nox: {PROBLEM}", file=sys.stderr)

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True  # a missing interpreter fails the session, never skips it
# notebook kernels keep their inline matplotlib backend (figures inline in reports); unit tests pick Agg
ENV = {"PYTHONHASHSEED": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def install(session: nox.Session) -> None:
    session.install("-e", ".[test]")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.5")
    session.run("ruff", "check", "lib", "notebooks", "tests", "benchmarks", "scripts", "noxfile.py")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    install(session)
    session.run(
        "pytest",
        "notebooks",
        "tests",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        "tests/sanitize.cfg",
        "--durations=15",
        *session.posargs,
        env=ENV,
    )


@nox.session(python=PYTHON)
def reports(session: nox.Session) -> None:
    """The main job: -- --profile full, --only 05 06, --timeout 600, --list, --verbose (see its --help)."""
    install(session)
    # Ctrl-C: give the job time to stop its notebook's kernel and write the index before nox escalates
    session.run("python", "-m", "latentebm.reporting", *(session.posargs or ["--profile", "ci"]), env=ENV,
                interrupt_timeout=10)


@nox.session(python=PYTHON)
def refresh(session: nox.Session) -> None:
    """Re-execute notebooks in place (ci profile) so the paired .ipynb holds fresh outputs: -- NAME ..."""
    install(session)
    session.run("python", "-m", "latentebm.reporting.refresh", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    install(session)
    session.run("python", "benchmarks/run.py", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def baselines(session: nox.Session) -> None:
    install(session)
    session.run("python", "tests/update_baselines.py", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def wheels(session: nox.Session) -> None:
    """Every pin has a wheel for every supported Python: -- --python 3.14 --platform macosx_14_0_arm64 ..."""
    session.install("packaging")
    session.run("python", "tests/check_wheels.py", *session.posargs, env=ENV)
