"""``reports/index.html``: every notebook, the seed result it derives, its headline numbers beside the paper's."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

from latentebm import catalogue, paths
from latentebm.reporting.records import _atomic_write


def format_number(value: float | int | None) -> str:
    if value is None:
        return "not run"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _metrics(profile: str, name: str) -> dict:
    path = paths.reports_dir() / "metrics" / profile / f"{name}.json"
    return json.loads(path.read_text())["metrics"] if path.is_file() else {}


def _held(claim: catalogue.Claim, metrics: dict) -> str:
    counts = claim.counts(metrics)
    return "not run" if counts is None else f"{counts[0]} of {counts[1]} seeds"


def _notebook_section(spec: catalogue.NotebookSpec, profile: str) -> str:
    metrics = _metrics(profile, spec.name)
    suffix = "" if profile == "ci" else f".{profile}"
    rows = "".join(
        f"<tr><td>{html.escape(h.label)}</td><td class='n'>{format_number(metrics.get(h.metric))}</td>"
        f"<td class='n'>{html.escape(h.paper)}</td></tr>"
        for h in spec.headlines
    )
    claims = "".join(
        f"<tr><td>{html.escape(c.statement)}<br><small>{html.escape(c.criterion)}</small></td>"
        f"<td>{html.escape(_held(c, metrics))}</td><td>{html.escape(c.verdict(metrics))}</td>"
        f"<td class='n'>{html.escape(c.paper)}</td></tr>"
        for c in spec.claims
    )
    if claims:
        claims = ("<table><tr><th>claim (criterion on one seed)</th><th>held</th><th>verdict</th><th>paper</th></tr>"
                  f"{claims}</table>")
    report = Path(f"{spec.name}{suffix}.html")
    return (
        f"<section><h2><a href='{report}'>{html.escape(spec.name)}</a>: {html.escape(spec.title)}</h2>"
        f"<p class='derives'>Derives: {html.escape(spec.derives)}</p>"
        f"<table><tr><th>headline</th><th>this run ({profile})</th><th>paper / closed form</th></tr>{rows}</table>"
        f"{claims}</section>"
    )


STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.25rem .75rem}
td.n{text-align:right;font-variant-numeric:tabular-nums}.derives{color:#555}
"""


def render(profile: str) -> str:
    sections = "".join(_notebook_section(spec, profile) for spec in catalogue.all_specs())
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>latentebm reports</title>"
        f"<style>{STYLE}</style></head><body><h1>latentebm: reports ({profile} profile)</h1>"
        "<p>Each notebook derives one result of the seed papers step by step; its headline numbers are shown "
        "beside the paper's (or the closed form). Reports are rendered by <code>nox -s reports</code>.</p>"
        f"{sections}</body></html>\n"
    )


def write(profile: str) -> Path:
    name = "index.html" if profile == "ci" else f"index.{profile}.html"
    text = render(profile)
    return _atomic_write(paths.reports_dir() / name, lambda tmp: tmp.write_text(text, encoding="utf-8"))
