"""Check that every pinned package has a wheel for every supported Python (and platform): the script a maintainer
reruns when bumping a pin or a supported version (``nox -s wheels``; it asks the package index, needs network).

For each pin of ``pyproject.toml`` (dependencies and the ``test`` extra) and each (Python, platform) pair, pip
resolves that exact version from binary wheels only, without dependencies and without installing
(``pip install --dry-run --only-binary=:all: --python-version X --platform P``). A pin with no wheel for a pair
is reported, and the exit status is 1.

    python tests/check_wheels.py                       # every supported Python (from requires-python), this platform
    python tests/check_wheels.py --python 3.14 --platform macosx_14_0_arm64
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """Every ``name==version`` of the project's dependencies and its ``test`` extra."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["test"]]


def supported_pythons(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The minor versions ``requires-python`` admits, from 3.11 to 3.19 (``">=3.11,<3.14"`` -> 3.11, 3.12, 3.13)."""
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(tomllib.loads(pyproject.read_text())["project"]["requires-python"])
    return [f"3.{minor}" for minor in range(11, 20) if f"3.{minor}.0" in spec]


def has_wheel(pin: str, python: str, platform: str | None) -> tuple[bool, str]:
    """(found, the wheel's file name or pip's last error line) for ``pin`` on ``python`` and ``platform``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--only-binary=:all:",
                   "--python-version", python, "--target", str(Path(tmp) / "target"), "--quiet", "--report",
                   str(report), pin]
        if platform:
            command[5:5] = ["--platform", platform]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not report.is_file():
            lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            return False, lines[-1] if lines else done.stderr.strip()[-200:]
        item = json.loads(report.read_text())["install"][0]
        return True, item["download_info"]["url"].rsplit("/", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", nargs="*", help="minor versions (default: those requires-python admits)")
    parser.add_argument("--platform", nargs="*", default=[None],
                        help="pip platform tags, e.g. manylinux_2_28_x86_64 macosx_14_0_arm64 (default: this one)")
    args = parser.parse_args(argv)
    pythons = args.python or supported_pythons()
    missing = 0
    for platform in args.platform:
        for python in pythons:
            for pin in pins():
                found, detail = has_wheel(pin, python, platform)
                missing += not found
                where = platform or sysconfig.get_platform()
                print(f"{'ok     ' if found else 'MISSING'} {pin:24s} Python {python} {where}: {detail}", flush=True)
    print(f"{missing} pin(s) without a wheel" if missing else "every pin has a wheel for every supported Python")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
