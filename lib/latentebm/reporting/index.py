"""The index of a profile's reports (``reports/index.html`` for ``ci``, ``reports/<profile>/index.html``).

At the top, the summary: how many claims reproduced, partly, not, over all notebooks, and the published numbers
only another profile measures (marked not yet run until it has been); the notebooks whose last run failed, named
with the cell and the error; the run facts of every notebook. Then one section per notebook: a thumbnail of its
key figure linking to its report, what it derives, and one row per claim: the claim in words with its source, our
numbers, the paper's (or the closed form), and the verdict with its one-line reason. Every verdict is computed
here from the published metrics by the claim's criterion (:mod:`latentebm.catalogue.claims`), never typed in.
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from pathlib import Path

from latentebm import catalogue
from latentebm.catalogue.claims import Verdict, shown
from latentebm.reporting import layout
from latentebm.reporting.publish import load_facts, load_status
from latentebm.reporting.records import atomic_write

COLUMNS = ("reproduced", "partly", "not reproduced", "not comparable", "not run")
PROFILES = ("ci", "full")


def load_metrics(profile: str, name: str) -> dict:
    path = layout.published_metrics_path(profile, name)
    return json.loads(path.read_text())["metrics"] if path.is_file() else {}


def verdicts(profile: str) -> list[tuple[catalogue.NotebookSpec, object, Verdict, dict]]:
    """(spec, claim, verdict, metrics) for every claim of every notebook, in notebook order."""
    rows = []
    for spec in catalogue.all_specs():
        metrics = load_metrics(profile, spec.name)
        rows.extend((spec, claim, claim.judge(metrics, spec.roundoff, profile), metrics)
                    for claim in spec.all_claims)
    return rows


def _e(text) -> str:
    return html.escape(str(text))


def _summary(rows, profile: str) -> str:
    counts = Counter(verdict.group for _, _, verdict, _ in rows)
    cells = "".join(f"<td class='n v-{c.replace(' ', '-')}'>{counts.get(c, 0)}</td>" for c in COLUMNS)
    other = [(s, c) for s, c, v, _ in rows if c.profile and c.profile != profile]
    waiting = ""
    if other:
        names = sorted({s.name for s, _ in other})
        waiting = (f"<p>{len(other)} published numbers are reached only by the "
                   f"{_e(other[0][1].profile)} profile (paper scale, GPU): "
                   f"{_e(', '.join(names))}; marked <em>not run</em> below until that profile has been run.</p>")
    return (f"<table class='summary'><tr><th>claims</th>{''.join(f'<th>{c}</th>' for c in COLUMNS)}</tr>"
            f"<tr><td>{len(rows)} over {len({s.name for s, _, _, _ in rows})} notebooks</td>{cells}</tr></table>"
            f"{waiting}")


def _failures(profile: str) -> str:
    status = load_status(profile)
    failed = {name: entry["failure"] for name, entry in status.items() if not entry.get("ok", True)}
    if not failed:
        return ""
    items = "".join(
        f"<li><b>{_e(name)}</b>: {_e(f.get('kind', 'failed'))}"
        f"{'' if f.get('cell') is None else ' in cell ' + _e(f['cell'])}: {_e(f.get('error', ''))} "
        f"{_e(f.get('message', ''))} <small>(its report and numbers below are from its last successful run)</small>"
        "</li>" for name, f in sorted(failed.items()))
    return f"<div class='failed'><h2>Last run failed</h2><ul>{items}</ul></div>"


def _run_facts(profile: str) -> str:
    rows, versions = [], Counter()
    status = load_status(profile)
    for spec in catalogue.all_specs():
        facts = load_facts(profile, spec.name)
        if facts is None:
            rows.append(f"<tr><td>{_e(spec.name)}</td><td colspan='5'>not run</td></tr>")
            continue
        versions[json.dumps(facts.get("versions", {}), sort_keys=True)] += 1
        rows.append(f"<tr><td>{_e(spec.name)}</td><td>{_e(_outcome(status.get(spec.name, {}), facts))}</td>"
                    f"<td class='n'>{_e(facts['wall_s'])} s</td><td>{_e(facts['device'])}</td>"
                    f"<td>{_e(facts['finished_at'])}</td><td><code>{_e(str(facts['git_revision'])[:10])}</code></td>"
                    "</tr>")
    stacks = "".join(f"<li>{_e(', '.join(f'{k} {v}' for k, v in json.loads(text).items()))}"
                     f"{'' if len(versions) == 1 else f' ({n} notebooks)'}</li>" for text, n in versions.items())
    return ("<details open><summary>Run facts</summary><table><tr><th>notebook</th><th>last run</th>"
            "<th>wall time</th><th>device</th><th>finished</th><th>git revision</th></tr>"
            f"{''.join(rows)}</table><p>Packages:</p><ul>{stacks or '<li>no run recorded</li>'}</ul></details>")


def _outcome(entry: dict, facts: dict) -> str:
    """``ok``, ``failed``, and the overrides its last successful run was made with (``-p seed=1``), if any."""
    outcome = "ok" if entry.get("ok", True) else "failed"
    overrides = facts.get("overrides") or {}
    return outcome + "".join(f" -p {key}={value!r}" for key, value in overrides.items())


def _claim_row(claim, verdict: Verdict, metrics: dict, spec) -> str:
    source = f"<br><small>{_e(claim.source)}</small>" if claim.source else ""
    source += f"<br><small>criterion: {_e(claim.criterion)}</small>"
    css = verdict.group.replace(" ", "-")
    return (f"<tr><td>{_e(claim.statement)}{source}</td><td>{_e(claim.numbers(metrics, spec.roundoff))}</td>"
            f"<td>{_e(claim.paper)}</td><td><span class='v v-{css}'>{_e(verdict.level)}</span>"
            f"<br><small>{_e(verdict.reason)}</small></td></tr>")


def _headlines(spec, metrics: dict) -> str:
    rows = "".join(f"<tr><td>{_e(h.label)}</td>"
                   f"<td class='n'>{_e(shown(h.metric, metrics.get(h.metric), spec.roundoff))}</td>"
                   f"<td>{_e(h.paper)}</td></tr>" for h in spec.headlines)
    return ("<details><summary>Every headline number</summary><table><tr><th>headline</th><th>this run</th>"
            f"<th>paper / closed form</th></tr>{rows}</table></details>") if rows else ""


def _notebook_section(spec, rows, profile: str) -> str:
    report = layout.report_path(profile, spec.name).name
    thumb = layout.thumbnail_path(profile, spec.name)
    picture = (f"<a href='{report}'><img class='thumb' src='thumbs/{thumb.name}' alt='{_e(spec.key_figure.caption)}'>"
               "</a>" if thumb.is_file() and spec.key_figure else "")
    mine = [(claim, verdict, metrics) for s, claim, verdict, metrics in rows if s.name == spec.name]
    claims = "".join(_claim_row(claim, verdict, metrics, spec) for claim, verdict, metrics in mine)
    metrics = load_metrics(profile, spec.name)
    entry = load_status(profile).get(spec.name, {})
    stale = ("<p class='stale'>Its last run failed (see the top of the page): the report, numbers and verdicts "
             "below are from its last successful run.</p>") if not entry.get("ok", True) else ""
    tally = Counter(verdict.group for _, verdict, _ in mine)
    tally = ", ".join(f"{tally[c]} {c}" for c in COLUMNS if tally[c])
    return (f"<section id='{_e(spec.name)}'>{picture}<h2><a href='{report}'>{_e(spec.name)}</a>: {_e(spec.title)}</h2>"
            f"<p class='derives'>Derives: {_e(spec.derives)}</p>{stale}<p class='tally'>{len(mine)} claims: {tally}</p>"
            "<table class='claims'><tr><th>claim</th>"
            f"<th>ours ({_e(profile)})</th><th>paper / closed form</th><th>verdict</th></tr>{claims}</table>"
            f"{_headlines(spec, metrics)}</section>")


STYLE = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;
vertical-align:top;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}.derives{color:#555}
section{clear:both;border-top:2px solid #eee;padding-top:.5rem}img.thumb{float:right;width:300px;margin:0 0 .5rem 1rem;
border:1px solid #ddd}small{color:#666}.v{font-weight:600;white-space:nowrap}.v-reproduced{color:#1a7f37}
.v-partly{color:#9a6700}.v-not-reproduced{color:#cf222e}.v-not-comparable,.v-not-run{color:#57606a}
.failed{border:2px solid #cf222e;padding:.5rem 1rem;margin:1rem 0}table.claims{width:100%}
table.claims td:nth-child(1){width:33%}table.claims td:nth-child(2){width:22%}table.claims td:nth-child(3){width:15%}
.tally{color:#444}.stale{color:#cf222e}
"""


def _other_profiles(profile: str) -> str:
    here = layout.pages_dir(profile)
    links = [f"<a href='{Path(os.path.relpath(layout.index_path(other), here)).as_posix()}'>the {other} profile's "
             "index</a>" for other in PROFILES if other != profile and layout.index_path(other).is_file()]
    return f"<p>See also {', '.join(links)}.</p>" if links else ""


def render(profile: str) -> str:
    rows = verdicts(profile)
    sections = "".join(_notebook_section(spec, rows, profile) for spec in catalogue.all_specs())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>latentebm reports "
        f"({_e(profile)})</title><style>{STYLE}</style></head><body><h1>latentebm: reports ({_e(profile)} profile)"
        "</h1><p>Each notebook derives one result of the seed papers step by step. Each row below is one claim: "
        "our numbers beside the paper's (or the closed form), and a verdict computed from them by the criterion "
        "stated in the notebook's catalogue spec. A claim that depends on training is counted over seeds. "
        "Rebuilt by <code>nox -s reports</code>.</p>"
        f"{_summary(rows, profile)}{_other_profiles(profile)}{_failures(profile)}{_run_facts(profile)}"
        f"{sections}</body></html>\n"
    )


def write(profile: str) -> Path:
    text = render(profile)
    return atomic_write(layout.index_path(profile), lambda tmp: tmp.write_text(text, encoding="utf-8"))
