"""Where things live: every relative path resolves from the repository root, whatever the working directory."""

from __future__ import annotations

from pathlib import Path


def repository_root() -> Path:
    """The folder holding ``pyproject.toml`` above this package (an editable install keeps it in place)."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return Path.cwd()


def resolve(path: str | Path) -> Path:
    """An absolute path for ``path``; relative paths are taken from the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else repository_root() / path


def notebooks_dir() -> Path:
    return repository_root() / "notebooks"


def reports_dir() -> Path:
    return repository_root() / "reports"


def data_dir() -> Path:
    return repository_root() / "data"
