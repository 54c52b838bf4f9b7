"""Notebook parameters: profile defaults, overrides, and one ParameterError naming the parameter per bad value,
raised by the one validation (``catalogue.resolve``) before any compute."""

import math
import subprocess
import sys

import pytest
from latentebm import catalogue
from latentebm.parameters import Knob, ParameterError, _looks_like_parameter, configure

GOOD = {"profile": "ci", "seed": 0, "device": "cpu", "output_dir": "build/test"}
NB = "01_f_divergence_duals"


def namespace(**changes):
    return {**GOOD, "In": [], "Out": {}, "_": None, **changes}


def test_defaults_come_from_the_profile():
    params = configure(NB, namespace())
    assert params.n_seeds == 30
    assert configure(NB, namespace(profile="full")).n_seeds == 100


def test_a_knob_overrides_its_profile_value():
    assert configure(NB, namespace(n_seeds=7)).n_seeds == 7


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"profile": "fast"}, "'profile'"),
        ({"seed": -1}, "'seed'"),
        ({"device": "tpu"}, "'device'"),
        ({"n_seeds": -3}, "'n_seeds'"),
        ({"n_seeds": 2.5}, "'n_seeds'"),
        ({"sample_sizes": [10, -5]}, "'sample_sizes'"),
        ({"lipschitz": "one"}, "'lipschitz'"),
        ({"n_seed": 3}, "unknown parameter 'n_seed'"),
        ({"lipschitz": math.nan}, "'lipschitz' must be a finite number"),
        ({"lipschitz": math.inf}, "'lipschitz' must be a finite number"),
        ({"lipschitz": -math.inf}, "'lipschitz' must be a finite number"),
        ({"lipschitz": 10**400}, "'lipschitz' must be a finite number"),  # float() of it overflows
        ({"disjoint_shifts": [0.1, math.nan]}, "'disjoint_shifts' must be a finite number"),
        ({"n_seeds": math.inf}, "'n_seeds' must be a whole number"),
        ({"n_seeds": math.nan}, "'n_seeds' must be a whole number"),
        ({"n_seeds": 1e300}, "'n_seeds' must be a whole number"),  # whole, but no exact count
        ({"n_seeds": 2**64}, "'n_seeds' must be a whole number below 2\\*\\*63"),
        ({"sample_sizes": [10, math.inf]}, "'sample_sizes' must be a whole number"),
        ({"seed": 2**32}, "'seed' must be a whole number in \\[0, 2\\*\\*32\\)"),
        ({"seed": 1.0}, "'seed'"),
        ({"seed": math.inf}, "'seed'"),
        ({"n_seeds": {"a": 1}}, "'n_seeds' must be a number, got {'a': 1}"),
        ({"n_seeds": "7"}, "'n_seeds' must be a number"),
        ({"sample_sizes": {"a": 1}}, "'sample_sizes' must be a non-empty list"),
        ({"lipschitz": [1.0]}, "'lipschitz' must be a number"),
    ],
)
def test_a_bad_parameter_gives_one_error_naming_it(changes, named):
    with pytest.raises(ParameterError, match=named):
        configure(NB, namespace(**changes))


@pytest.mark.parametrize(
    ("notebook", "changes", "named"),
    [
        ("02_kale_smoothie", {"bandwidth": math.nan}, "'bandwidth' must be a finite number"),
        ("04_gebm_gradient_theorem", {"fd_step": math.nan}, "'fd_step' must be a finite number"),
        ("04_gebm_gradient_theorem", {"iw_repeats": math.inf}, "'iw_repeats' must be a whole number"),
        ("04_gebm_gradient_theorem", {"iw_repeats": {"a": 1}}, "'iw_repeats' must be a number"),
    ],
)
def test_the_values_of_the_issue_are_refused_in_their_notebooks(notebook, changes, named):
    with pytest.raises(ParameterError, match=named):
        configure(notebook, namespace(**changes))


def test_an_injected_dict_is_a_parameter_value_not_ignored():
    # papermill -y "iw_repeats: {a: 1}" injects `iw_repeats = {"a": 1}`: it must reach the check, not be dropped
    assert _looks_like_parameter("iw_repeats", {"a": 1})
    assert not _looks_like_parameter("Out", {}) and not _looks_like_parameter("_oh", {})
    with pytest.raises(ParameterError, match="unknown parameter 'extra'"):
        configure(NB, namespace(extra={"a": 1}))


def test_the_largest_seed_is_accepted():
    assert configure(NB, namespace(seed=2**32 - 1)).seed == 2**32 - 1


def test_cuda_is_refused_when_absent(monkeypatch):
    monkeypatch.setattr("latentebm.runtime.cuda_available", lambda: False)
    with pytest.raises(ParameterError, match="'device' is 'cuda'"):
        configure(NB, namespace(device="cuda"))


def test_unknown_notebook():
    with pytest.raises(ParameterError, match="no notebook named"):
        configure("99_nothing", namespace())


def test_list_knob_converts_its_entries():
    knob = Knob("sizes", [1], [2], "sizes", kind=list, element=int, minimum=1)
    assert knob.check([3, 4.0]) == [3, 4]
    with pytest.raises(ParameterError, match="'sizes' must be a non-empty list"):
        knob.check([])


def test_list_of_strings_knob_checks_each_entry_against_its_choices():
    knob = Knob("datasets", ["a"], ["a", "b"], "data", kind=list, element=str, choices=("a", "b", "c"))
    assert knob.check(["a", "c"]) == ["a", "c"]
    assert knob.check("b, c") == ["b", "c"]  # papermill -p datasets b,c gives a string
    for bad, shown in ((["a", "z"], "'z'"), ([], r"\[\]"), ("", "''"), ([1], "1"), ({"a": 1}, "{'a': 1}")):
        with pytest.raises(ParameterError, match=f"parameter 'datasets' must be .*got {shown}"):
            knob.check(bad)


def test_multiple_of_knob():
    knob = Knob("grid_cells", 240, 480, "cells", minimum=8, multiple_of=8)
    assert knob.check(248) == 248 and knob.check(16.0) == 16
    with pytest.raises(ParameterError, match="'grid_cells' must be a multiple of 8, got 241"):
        knob.check(241)
    with pytest.raises(ParameterError, match="'grid_cells' must be >= 8, got 0"):
        knob.check(0)


def test_knob_definitions_are_checked():
    with pytest.raises(TypeError, match="'x': multiple_of"):
        Knob("x", 1.0, 1.0, "x", kind=float, multiple_of=2)
    with pytest.raises(TypeError, match="'x': choices"):
        Knob("x", 1, 1, "x", choices=("a",))


@pytest.mark.parametrize("spec", catalogue.all_specs(), ids=lambda spec: spec.name)
@pytest.mark.parametrize("profile", ["ci", "full"])
def test_every_spec_default_passes_its_own_check(spec, profile):
    resolved = catalogue.resolve(spec.name, {"profile": profile}, required=())
    assert set(resolved) == {"profile"} | {knob.name for knob in spec.knobs}


def test_a_parameters_cell_without_a_common_parameter_is_refused():
    values = {key: value for key, value in GOOD.items() if key != "seed"}
    with pytest.raises(ParameterError, match="parameter 'seed' is not set"):
        configure(NB, values)


def test_catalogue_and_parameters_do_not_import_each_other():
    # a fresh interpreter: importing either first works and catalogue never loads parameters
    for first in ("latentebm.catalogue", "latentebm.parameters"):
        code = f"import sys, {first}; print('latentebm.parameters' in sys.modules)"
        shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert shown.strip() == ("True" if first == "latentebm.parameters" else "False")


def test_params_round_trip_to_a_record():
    record = configure(NB, namespace()).as_dict()
    assert record["profile"] == "ci" and record["device"] == "cpu" and "n_seeds" in record
