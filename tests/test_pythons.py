"""The supported Pythons: the noxfile picks one the user has (or names the supported ones when there is none),
requires-python admits exactly those, and the wheel check reads the pins and versions it is meant to check."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
from latentebm import paths

ROOT = paths.repository_root()


@pytest.fixture(scope="module")
def noxfile():
    """noxfile.py loaded with a stand-in for nox (not installed in the test environment), whose decorators
    return the session functions unchanged."""
    fake = types.ModuleType("nox")
    fake.options = types.SimpleNamespace()
    fake.session = lambda *args, **kwargs: (lambda function: function)
    fake.Session = object
    saved = sys.modules.get("nox")
    sys.modules["nox"] = fake
    try:
        spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["nox"]
        else:
            sys.modules["nox"] = saved
    module.fake_options = fake.options
    return module


def on_path(versions: dict[str, str | None]):
    """A probe for a fake PATH: command -> the version it runs as (``None``: absent or a shim that fails)."""
    return lambda command: versions.get(command)


def test_the_running_interpreter_is_used_when_it_is_supported(noxfile):
    assert noxfile.choose_python("3.11", on_path({"python3.13": "3.13"})) == ("3.11", None)
    assert noxfile.choose_python("3.13", on_path({})) == ("3.13", None)


def test_otherwise_the_newest_supported_interpreter_that_runs(noxfile):
    probe = on_path({"python3.13": None, "python3.12": "3.12", "python3.11": "3.11"})  # 3.13: a failing shim
    assert noxfile.choose_python("3.14", probe) == ("3.12", None)
    assert noxfile.choose_python("3.10", on_path({"python3.11": "3.11"})) == ("3.11", None)


def test_a_command_that_runs_as_another_version_does_not_count(noxfile):
    assert noxfile.choose_python("3.14", on_path({"python3.12": "3.14"}))[1] is not None


def test_no_supported_interpreter_is_one_clear_message(noxfile):
    version, message = noxfile.choose_python("3.10", on_path({}))
    assert version == "3.13"  # asked for anyway: nox downloads it (pbs extra) or fails the session
    assert "3.13, 3.12, 3.11" in message and "3.10" in message and "nox[pbs]" in message


def test_missing_interpreters_are_errors_not_skips(noxfile):
    assert noxfile.fake_options.error_on_missing_interpreters is True
    assert noxfile.fake_options.sessions == ["lint", "tests"]


def test_runs_as_reports_this_interpreter_and_rejects_what_does_not_run(noxfile, tmp_path):
    assert noxfile.runs_as("python", which=lambda command: sys.executable) == f"{sys.version_info[0]}." \
        f"{sys.version_info[1]}"
    assert noxfile.runs_as("python3.99", which=lambda command: None) is None
    failing = tmp_path / "python3.12"
    failing.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    failing.chmod(0o755)
    assert noxfile.runs_as("python3.12", which=lambda command: str(failing)) is None


def test_requires_python_admits_exactly_the_supported_versions(noxfile):
    from tests import check_wheels

    assert check_wheels.supported_pythons() == sorted(noxfile.SUPPORTED)
    assert "torch==2.13.0" in check_wheels.pins() and "pytest==9.2.0" in check_wheels.pins()
