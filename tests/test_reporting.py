"""Metrics JSON format, atomic writes, figure arrays, the index, and overrides naming no parameter."""

import html
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from latentebm import catalogue
from latentebm.parameters import ParameterError, configure
from latentebm.reporting import index, pipeline, records


@pytest.fixture
def params(tmp_path):
    return configure("01_f_divergence_duals", {"profile": "ci", "seed": 3, "device": "cpu",
                                               "output_dir": str(tmp_path)})


def test_metrics_file_has_the_agreed_shape(params, tmp_path):
    records.record_metrics(params, {"a": 1.5, "b": np.float64(2.0), "c": float("inf")})
    payload = json.loads((tmp_path / "metrics" / "01_f_divergence_duals.json").read_text())
    assert payload == {"notebook": "01_f_divergence_duals", "profile": "ci", "seed": 3,
                       "metrics": {"a": 1.5, "b": 2.0, "c": float("inf")}}
    run = json.loads((tmp_path / "runs" / "01_f_divergence_duals.json").read_text())
    assert run["parameters"]["seed"] == 3 and "torch" in run["versions"] and run["git_revision"]


def test_non_numeric_metric_is_refused(params):
    with pytest.raises(TypeError, match="metric 'x'"):
        records.record_metrics(params, {"x": "high"})


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("good")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        records.atomic_write(target, broken)
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]


def test_save_figure_writes_arrays_and_png(params, tmp_path):
    figure = plt.figure()
    returned = records.save_figure(params, "demo", figure, {"x": [1, 2, 3]})
    assert returned is figure
    saved = np.load(tmp_path / "figures" / "01_f_divergence_duals" / "demo.npz")
    np.testing.assert_array_equal(saved["x"], [1, 2, 3])
    assert (tmp_path / "figures" / "01_f_divergence_duals" / "demo.png").stat().st_size > 0


def test_index_lists_every_notebook_with_paper_numbers():
    page = index.render("ci")
    for spec in catalogue.all_specs():
        assert spec.name in page
        for headline in spec.headlines:
            assert html.escape(headline.label) in page and html.escape(headline.paper) in page


def test_index_states_every_claim_with_its_criterion():
    page = index.render("ci")
    claims = [claim for spec in catalogue.all_specs() for claim in spec.claims]
    assert claims, "notebooks 05 and 06 state claims over seeds"
    for claim in claims:
        assert html.escape(claim.statement) in page and html.escape(claim.criterion) in page


@pytest.mark.parametrize(("held", "seeds", "verdict"), [(5, 5, "reproduced"), (4, 5, "reproduced"),
                                                         (3, 5, "mixed"), (2, 5, "mixed"), (1, 5, "not reproduced"),
                                                         (0, 5, "not reproduced"), (8, 10, "reproduced")])
def test_claim_verdict_counts_the_seeds(held, seeds, verdict):
    claim = catalogue.Claim("c", "statement", "criterion")
    metrics = {}
    records.record_claim(metrics, "c", [True] * held + [False] * (seeds - held))
    assert (metrics["c_holds"], metrics["c_seeds"]) == (held, seeds)
    assert claim.verdict(metrics) == verdict and claim.line(metrics).endswith(f": {verdict}")
    assert claim.verdict({}) == "not measured"


def test_index_formats_infinity_and_missing():
    from latentebm.catalogue.claims import number

    assert number(float("inf")) == "∞" and number(None) == "not run" and number(3) == "3"


def test_override_naming_no_parameter_is_refused_before_running():
    with pytest.raises(ParameterError, match="unknown parameter 'bogus'"):
        pipeline.check_overrides("01_f_divergence_duals", {"bogus": 1})
