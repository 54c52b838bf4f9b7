"""Verdicts are derived from numbers by code: every criterion of every notebook can fail, and can hold."""

from __future__ import annotations

import json

import pytest
from latentebm import catalogue, paths
from latentebm.catalogue.claims import DIRECTION, MIXED, NOT, NOT_COMPARABLE, NOT_MEASURED, REPRODUCED, Check

COMPARISONS = [(spec, c) for spec in catalogue.all_specs() for c in spec.comparisons]
CLAIMS = [(spec, c) for spec in catalogue.all_specs() for c in spec.claims]


def committed_metrics(spec) -> dict:
    """The ci metrics in the repository, with placeholders for metrics only another profile records."""
    path = paths.reports_dir() / "metrics" / "ci" / f"{spec.name}.json"
    metrics = json.loads(path.read_text())["metrics"] if path.is_file() else {}
    for claim in spec.comparisons:
        for name in claim.metrics_used():
            metrics.setdefault(name, 1.0)
    return metrics


def moved(check: Check, metrics: dict, hold: bool) -> dict:
    """``metrics`` with ``check.metric`` just inside (``hold``) or just outside its criterion."""
    reference = check.reference(metrics)
    nudge = max(abs(reference), check.tol, 1e-12) * 1e-3
    inside, outside = {
        "<": (reference - nudge, reference + nudge), "≤": (reference, reference + nudge),
        ">": (reference + nudge, reference - nudge), "≥": (reference, reference - nudge),
        "≈": (reference, reference + check.tol + nudge), "≠": (reference + check.tol + nudge, reference),
    }[check.op]
    value = inside if hold else outside
    if check.absolute and value < 0:
        value = reference + check.tol + nudge if check.op == "≠" else -value
    return {**metrics, check.metric: value}


def all_holding(claim, metrics: dict) -> dict:
    """Every check moved inside its criterion: the failing ones only, the direction first (the strict checks
    imply it), until all hold."""
    checks = (*claim.direction, *claim.checks)
    for _ in range(5):
        for check in checks:
            if not check.holds(metrics):
                metrics = moved(check, metrics, hold=True)
        if all(check.holds(metrics) for check in checks):
            return metrics
    raise AssertionError(f"{claim.key}: its checks cannot all hold at once")


@pytest.mark.parametrize(("spec", "claim"), COMPARISONS, ids=[f"{s.name}:{c.key}" for s, c in COMPARISONS])
def test_every_check_can_fail_and_flip_the_verdict(spec, claim):
    holding = all_holding(claim, committed_metrics(spec))
    best = claim.judge(holding, spec.roundoff).level
    assert best == (DIRECTION if claim.differs else REPRODUCED)
    for check in claim.checks:
        failed = claim.judge(moved(check, holding, hold=False), spec.roundoff)
        assert failed.level in ((DIRECTION, NOT) if claim.direction else (NOT,)), (check, failed)
        assert check.metric in failed.reason
    for check in claim.direction:
        assert claim.judge(moved(check, holding, hold=False), spec.roundoff).level == NOT


@pytest.mark.parametrize(("spec", "claim"), CLAIMS, ids=[f"{s.name}:{c.key}" for s, c in CLAIMS])
def test_every_seed_claim_can_fail(spec, claim):
    key = claim.key
    assert claim.verdict({f"{key}_holds": 5, f"{key}_seeds": 5}) == REPRODUCED
    assert claim.verdict({f"{key}_holds": 0, f"{key}_seeds": 5}) == NOT
    assert claim.verdict({f"{key}_holds": 3, f"{key}_seeds": 5}) == MIXED
    assert claim.judge({}).level == NOT_MEASURED


def test_a_claim_that_is_not_comparable_never_claims_reproduced():
    only_differs = catalogue.Comparison("k", "s", differs="other data")
    assert only_differs.judge({}).level == NOT_COMPARABLE
    with pytest.raises(ValueError, match="not comparable"):
        catalogue.Comparison("k", "s", (Check("a", "<", 1.0),), differs="other data")
    with pytest.raises(ValueError, match="give checks"):
        catalogue.Comparison("k", "s")


def test_a_missing_metric_is_not_measured_and_named():
    claim = catalogue.Comparison("k", "s", (Check("a", "<", "b"),))
    verdict = claim.judge({"a": 1.0})
    assert verdict.level == NOT_MEASURED and "b" in verdict.reason
    full = catalogue.Comparison("k", "s", (Check("a", "<", 1.0),), profile="full")
    assert "full profile only" in full.judge({}, profile="ci").reason
    assert full.judge({"a": 0.5}, profile="full").level == "reproduced"


def test_roundoff_metrics_show_their_bound_not_their_digits():
    claim = catalogue.Comparison("k", "s", (Check("err", "<", 1e-8, absolute=True),))
    metrics = {"err": 3.14159e-13}
    assert "3.14" not in claim.judge(metrics, {"err": 1e-8}).reason
    assert claim.numbers(metrics, {"err": 1e-8}) == "err < 1e-08"
    assert "3.142e-13" in claim.numbers(metrics)


@pytest.mark.parametrize(("op", "value", "ours", "holds"), [
    ("<", 1.0, 0.5, True), ("<", 1.0, 1.0, False), ("≤", 1.0, 1.0, True), (">", 0.0, -1e-9, False),
    ("≥", 0.0, 0.0, True), ("≈", 2.0, 2.09, True), ("≈", 2.0, 2.11, False), ("≠", 2.0, 2.2, True),
])
def test_check_operators(op, value, ours, holds):
    assert Check("m", op, value, tol=0.1).holds({"m": ours}) is holds


def test_check_against_another_metric_with_a_factor_and_absolute_value():
    check = Check("gap", "<", "sd", factor=3.0, absolute=True)
    assert check.holds({"gap": -0.2, "sd": 0.1}) and not check.holds({"gap": -0.4, "sd": 0.1})
    assert check.text() == "|gap| < 3 × sd"
    with pytest.raises(ValueError, match="op must be"):
        Check("m", "=", 1.0)


def test_nan_is_not_measured_and_a_shown_metric_is_not_needed():
    claim = catalogue.Comparison("k", "s", (Check("a", "<", 1.0),), shows=("spread",))
    assert claim.judge({"a": float("nan")}).reason == "a is NaN"
    assert claim.judge({"a": 0.5}).level == REPRODUCED  # "spread" absent: only shown, never needed
    assert claim.judge({"a": float("inf")}).level == NOT


def test_seed_counts_and_need_are_checked():
    with pytest.raises(ValueError, match="need must be"):
        catalogue.Claim("c", "s", "criterion", need=0.5)
    claim = catalogue.Claim("c", "s", "criterion")
    for held, seeds in ((6, 5), (-1, 5), (2.5, 5)):
        with pytest.raises(ValueError, match="is not a count"):
            claim.judge({"c_holds": held, "c_seeds": seeds})


def test_a_roundoff_metric_that_fails_its_bound_shows_its_value():
    claim = catalogue.Comparison("k", "s", (Check("err", "<", 1e-8, absolute=True),))
    verdict = claim.judge({"err": 3e-3}, {"err": 1e-8})
    assert verdict.level == NOT and "0.003" in verdict.reason
