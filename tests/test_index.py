"""The index: a summary of verdicts, failures named, run facts, thumbnails, and one index per profile."""

from __future__ import annotations

import html
import json

import pytest
from latentebm import catalogue
from latentebm.catalogue import Check, Claim, Comparison, KeyFigure, NotebookSpec
from latentebm.reporting import index, layout, publish

SPEC = NotebookSpec(
    name="01_demo", title="demo", derives="a demo result",
    claims=(Claim("seeded", "it holds over seeds", "x below y on each seed"),),
    comparisons=(
        Comparison("exact", "a closed form", (Check("err", "<", 1e-8, absolute=True),), paper="0"),
        Comparison("sized", "a number of the paper", (Check("value", "≈", 2.0, tol=0.1),),
                   direction=(Check("value", ">", 1.0),), paper="2.0"),
        Comparison("paper_scale", "a number only the full profile reaches", (Check("big", "≈", 3.0, tol=0.1),),
                   profile="full", paper="3.0"),
    ),
    figures=(KeyFigure("key", "the key figure"),),
    roundoff={"err": 1e-8},
)


@pytest.fixture
def reports(tmp_path, monkeypatch):
    monkeypatch.setattr("latentebm.paths.reports_dir", lambda: tmp_path / "reports")
    monkeypatch.setattr(catalogue, "all_specs", lambda: [SPEC])
    return tmp_path / "reports"


def publish_run(tmp_path, metrics: dict, profile: str = "ci") -> None:
    """What the main job publishes for one notebook: metrics, run facts and a thumbnail of its key figure."""
    import matplotlib.pyplot as plt

    build = tmp_path / "build" / profile
    (build / "metrics").mkdir(parents=True)
    (build / "metrics" / "01_demo.json").write_text(json.dumps({"metrics": metrics}))
    (build / "runs").mkdir()
    (build / "runs" / "01_demo.json").write_text(json.dumps({
        "parameters": {"profile": profile, "device": "cpu", "seed": 0, "n": 5}, "git_revision": "0123456789abcdef",
        "finished_at": "2026-12-02T05:00:00+00:00", "versions": {"python": "3.11.7", "torch": "2.13.0"}}))
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    (build / "figures" / "01_demo").mkdir(parents=True)
    figure.savefig(build / "figures" / "01_demo" / "key.png")
    plt.close(figure)
    publish.publish(SPEC, build, profile, publish.run_facts(build, "01_demo", profile, 12.34))


def test_index_summarises_verdicts_computed_from_the_numbers(reports, tmp_path):
    publish_run(tmp_path, {"err": 1e-13, "value": 1.5, "seeded_holds": 4, "seeded_seeds": 5, "big": 3.0})
    page = index.render("ci")
    assert "<td>4 over 1 notebooks</td>" in page
    for column, count in (("reproduced", 2), ("partly", 1), ("not-reproduced", 0), ("not-run", 1)):
        assert f"v-{column}'>{count}</td>" in page
    assert "reproduced in direction only" in page and "fails value = 1.5 within 0.1 of 2" in page
    assert "measured by the full profile only; not yet run" in page and "1 published numbers" in page
    assert "err &lt; 1e-08" in page and "1e-13" not in page  # a round-off metric shows its bound only
    assert html.escape(SPEC.claims[0].criterion) in page
    flipped = json.loads((reports / "metrics" / "ci" / "01_demo.json").read_text())
    flipped["metrics"]["value"] = 0.5
    (reports / "metrics" / "ci" / "01_demo.json").write_text(json.dumps(flipped))
    assert "v-not-reproduced'>1</td>" in index.render("ci")


def test_index_shows_thumbnail_and_run_facts(reports, tmp_path):
    publish_run(tmp_path, {"err": 0.0, "value": 2.0})
    page = index.render("ci")
    assert layout.thumbnail_path("ci", "01_demo").is_file()
    assert "<a href='01_demo.html'><img class='thumb' src='thumbs/01_demo.png'" in page
    assert "12.3 s" in page and "0123456789" in page and "2026-12-02T05:00:00" in page and "torch 2.13.0" in page
    facts = publish.load_facts("ci", "01_demo")
    assert facts["parameters"]["n"] == 5 and facts["device"] == "cpu" and facts["wall_s"] == 12.3


def test_index_names_a_failed_notebook(reports, tmp_path):
    publish_run(tmp_path, {"err": 0.0, "value": 2.0})
    publish.record_status("ci", "01_demo", {"kind": "dead kernel", "cell": 7, "error": "DeadKernelError",
                                            "message": "Kernel died"})
    page = index.render("ci")
    assert "Last run failed" in page and "dead kernel in cell 7: DeadKernelError" in page
    publish.record_status("ci", "01_demo")
    assert "Last run failed" not in index.render("ci")


def test_full_profile_has_its_own_index_linked_from_the_ci_one(reports, tmp_path):
    publish_run(tmp_path, {"err": 0.0, "value": 2.0, "big": 3.05}, profile="full")
    full = index.write("full")
    assert full == reports / "full" / "index.html"
    assert "v-reproduced'>3</td>" in full.read_text() and "not yet run" not in full.read_text()
    assert (reports / "full" / "thumbs" / "01_demo.png").is_file()
    ci = index.write("ci")
    assert "<a href='full/index.html'>the full profile's index</a>" in ci.read_text()
    assert "<a href='../index.html'>the ci profile's index</a>" in index.render("full")


def test_committed_index_judges_every_claim_of_every_notebook():
    """Every claim the ci profile measures has a verdict from the committed metrics (a misspelt metric name in a
    check would leave it "not measured"); only the full profile's own claims wait."""
    page = index.render("ci")
    for spec, claim, verdict, _ in index.verdicts("ci"):
        assert spec.name in page and html.escape(claim.statement) in page
        assert (verdict.level == "not measured") == (claim.profile == "full"), (spec.name, claim.key, verdict)
