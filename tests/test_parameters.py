import pytest
from latentebm.parameters import Knob, ParameterError, configure

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
    ],
)
def test_a_bad_parameter_gives_one_error_naming_it(changes, named):
    with pytest.raises(ParameterError, match=named):
        configure(NB, namespace(**changes))


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
    with pytest.raises(ParameterError):
        knob.check([])


def test_params_round_trip_to_a_record():
    record = configure(NB, namespace()).as_dict()
    assert record["profile"] == "ci" and record["device"] == "cpu" and "n_seeds" in record
