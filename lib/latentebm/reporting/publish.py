"""What the main job publishes after a notebook ran: its metrics, its run facts, a thumbnail of its key figure,
and the outcome of every notebook of the job (:mod:`.layout` says where each goes)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from latentebm.reporting import layout
from latentebm.reporting.records import atomic_write, metrics_path, write_json_atomic

THUMBNAIL_WIDTH = 360
"""pixels: the key figure's PNG scaled down to this width (twice the index's 300 px less a margin: sharp on a
high-density screen, a few tens of kB)"""


def run_facts(build_dir: Path, name: str, profile: str, wall_s: float) -> dict[str, Any]:
    """The run record the notebook wrote (resolved parameters, versions, git revision, finish time) with the
    profile, the device and the main job's wall time added; ``{}`` items where the notebook wrote none."""
    record_file = Path(build_dir) / "runs" / f"{name}.json"
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    # output_dir is a path on the machine that ran it: meaningless to a reader, and it would tie the committed
    # run facts to one checkout
    parameters = {k: v for k, v in record.get("parameters", {}).items() if k != "output_dir"}
    return {
        "notebook": name,
        "profile": profile,
        "device": parameters.get("device", "unknown"),
        "wall_s": round(float(wall_s), 1),
        "finished_at": record.get("finished_at", "unknown"),
        "git_revision": record.get("git_revision", "unknown"),
        "versions": record.get("versions", {}),
        "parameters": parameters,
    }


def thumbnail(spec, build_dir: Path, profile: str) -> Path | None:
    """Scale the spec's key figure down into the pages' ``thumbs/`` folder; ``None`` if it has none."""
    from PIL import Image

    if spec.key_figure is None:
        return None
    source = Path(build_dir) / "figures" / spec.name / f"{spec.key_figure.key}.png"
    if not source.is_file():
        return None
    def write(tmp: Path) -> None:
        with Image.open(source) as picture:
            picture.thumbnail((THUMBNAIL_WIDTH, 10 * THUMBNAIL_WIDTH))
            picture.save(tmp, format="PNG", optimize=True)

    return atomic_write(layout.thumbnail_path(profile, spec.name), write)


def publish(spec, build_dir: Path, profile: str, facts: dict[str, Any]) -> None:
    """Copy the notebook's metrics beside the reports, write its run facts, refresh its thumbnail."""
    source = metrics_path(build_dir, spec.name)
    if source.is_file():
        atomic_write(layout.published_metrics_path(profile, spec.name), lambda tmp: shutil.copyfile(source, tmp))
    write_json_atomic(layout.published_run_path(profile, spec.name), facts)
    thumbnail(spec, build_dir, profile)


def load_status(profile: str) -> dict[str, dict[str, Any]]:
    """The last job's outcome per notebook; ``{}`` when there is none or the file is unreadable (a broken status
    file must not stop a job: the next record rewrites it)."""
    try:
        return json.loads(layout.status_path(profile).read_text())
    except (OSError, ValueError):
        return {}


def record_status(profile: str, name: str, failure: dict[str, Any] | None = None) -> None:
    """Record the main job's outcome for one notebook: ``ok``, or ``failure`` = ``{"kind": "cell error" |
    "dead kernel" | "timeout" | ..., "cell": execution count or None, "error": exception name, "message": ...}``.
    Other notebooks' entries are kept (a job over ``--only`` a few leaves the rest as they were)."""
    status = load_status(profile)
    status[name] = {"ok": failure is None, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    **({"failure": failure} if failure else {})}
    write_json_atomic(layout.status_path(profile), dict(sorted(status.items())))


def load_facts(profile: str, name: str) -> dict[str, Any] | None:
    path = layout.published_run_path(profile, name)
    return json.loads(path.read_text()) if path.is_file() else None
