"""The pip pins (pyproject.toml) and the conda file (environment.yml) list the same packages; CI calls the
README's test command."""

import re
import tomllib

from latentebm import paths

ROOT = paths.repository_root()


def pyproject_pins() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | {pin for pins in project["optional-dependencies"].values() for pin in pins}


def environment_pins() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:")
    return {line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- ")}


def test_environment_yml_matches_pyproject():
    conda_only = {"-e .", next(p for p in environment_pins() if p.startswith("nox=="))}
    assert environment_pins() - conda_only == pyproject_pins()


def test_every_dependency_is_pinned_exactly():
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", pin) for pin in pyproject_pins())


def test_environment_yml_is_python_311_on_conda_forge():
    text = (ROOT / "environment.yml").read_text()
    assert "python=3.11" in text and "conda-forge" in text


def test_nox_pin_is_the_same_everywhere():
    nox_pin = next(p for p in environment_pins() if p.startswith("nox=="))
    assert nox_pin in (ROOT / ".ci" / "run").read_text()
    assert nox_pin in (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "nox -s" in line]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in (ROOT / "README.md").read_text()
