"""Where the main job puts what it publishes, per profile.

Pages (what a reader opens) and the data behind them::

    reports/index.html, reports/<notebook>.html, reports/thumbs/<notebook>.png            the ci profile
    reports/<profile>/index.html, reports/<profile>/<notebook>.html, .../thumbs/...        any other (full)
    reports/metrics/<profile>/<notebook>.json     headline metrics of the last successful run
    reports/runs/<profile>/<notebook>.json        its run facts (resolved parameters, device, versions, git,
                                                  date, wall time)
    reports/runs/<profile>/status.json            the last main job's outcome per notebook (ok, or the failure)

The ``ci`` pages, metrics, run facts, status and thumbnails are committed; the notebook reports are not (they
are rebuilt by ``nox -s reports``).
"""

from __future__ import annotations

from pathlib import Path

from latentebm import paths


def pages_dir(profile: str) -> Path:
    return paths.reports_dir() if profile == "ci" else paths.reports_dir() / profile


def report_path(profile: str, name: str) -> Path:
    return pages_dir(profile) / f"{name}.html"


def index_path(profile: str) -> Path:
    return pages_dir(profile) / "index.html"


def thumbnail_path(profile: str, name: str) -> Path:
    return pages_dir(profile) / "thumbs" / f"{name}.png"


def published_metrics_path(profile: str, name: str) -> Path:
    return paths.reports_dir() / "metrics" / profile / f"{name}.json"


def published_run_path(profile: str, name: str) -> Path:
    return paths.reports_dir() / "runs" / profile / f"{name}.json"


def status_path(profile: str) -> Path:
    return paths.reports_dir() / "runs" / profile / "status.json"
