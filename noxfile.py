"""Every command the project runs, each in its own virtualenv built from pyproject.toml's exact pins.

    nox -s reports      the main job: execute every notebook (ci profile), render reports/ and its index
    nox -s lint tests   the tests: ruff, unit tests, every notebook under nbval, figure regression
    nox -s refresh      re-execute notebooks in place so the paired .ipynb holds fresh ci outputs
    nox -s bench        speed benchmarks (never part of the tests)
    nox -s baselines    refresh tests/baselines from a fresh ci run (review the diff before committing)

Pass arguments after ``--``: ``nox -s reports -- --profile full --only 05_gebm_training``.
"""

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

PYTHON = "3.11"
# notebook kernels keep their inline matplotlib backend (figures inline in reports); unit tests pick Agg
ENV = {"PYTHONHASHSEED": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def install(session: nox.Session) -> None:
    session.install("-e", ".[test]")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.5")
    session.run("ruff", "check", "lib", "notebooks", "tests", "benchmarks", "noxfile.py")


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
    install(session)
    session.run("python", "-m", "latentebm.reporting", *(session.posargs or ["--profile", "ci"]), env=ENV)


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
