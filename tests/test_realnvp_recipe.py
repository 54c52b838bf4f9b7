"""The recipe of notebook 07 (experiments/realnvp.py): one frozen recipe per profile that the catalogue's knobs
mirror, model identities whose names and checkpoints change with every setting that changes the run, training
that is saved and loaded back, and the catalogue's validation of the datasets and the grid."""

import dataclasses

import numpy as np
import pytest
import torch
from latentebm import catalogue, experiments
from latentebm.catalogue.knobs import ParameterError
from latentebm.experiments import realnvp
from latentebm.runtime import streams
from latentebm.training import ebm

SPEC = catalogue.get("07_realnvp_sanity_check")


def tiny() -> realnvp.Recipe:
    return dataclasses.replace(realnvp.RECIPES["ci"], toy_samples=200, toy_flow_steps=20, toy_energy_steps=20,
                               toy_flow_layers=2, toy_flow_hidden=8, toy_energy_hidden=8, toy_eval_every=10,
                               toy_eval_samples=256, toy_n_base=64, flow_layers=2, flow_hidden=8, flow_steps=20,
                               energy_hidden=8, energy_steps=10, eval_every=5, eval_samples=128, n_base=32,
                               cd_negatives=16, langevin_steps=2)


def test_the_catalogue_offers_the_recipe_values_as_knobs():
    fields = {f.name for f in dataclasses.fields(realnvp.Recipe)}
    offered = [knob for knob in SPEC.knobs if knob.name in fields]
    assert len(offered) == 18
    for knob in offered:
        assert (knob.ci, knob.full) == (getattr(realnvp.RECIPES["ci"], knob.name),
                                        getattr(realnvp.RECIPES["full"], knob.name))


def test_knobs_replace_recipe_fields_and_other_knobs_are_ignored():
    recipe = realnvp.recipe("ci", {"flow_steps": 7, "energy_lr": 0.5, "grid_cells": 16, "datasets": ["redwine"]})
    assert recipe.flow_steps == 7 and recipe.energy_lr == 0.5
    assert recipe.flow("redwine").fit.steps == 7 and recipe.energy("redwine", "dv").fit.lr == 0.5
    assert realnvp.recipe("full") == realnvp.RECIPES["full"]


def test_each_method_gets_its_base_draws_and_refuses_unknown_methods():
    recipe = realnvp.RECIPES["ci"]
    assert recipe.energy("sklearn_wine", "cd").fit.n_base == recipe.cd_negatives
    assert recipe.energy("sklearn_wine", "kale").fit.n_base == recipe.n_base
    assert recipe.energy("sklearn_wine", "kale").fit.method == "kale" == recipe.energy("x", "kale").stream
    with pytest.raises(ValueError, match="method"):
        recipe.energy("sklearn_wine", "mle")


def test_a_model_name_changes_with_every_setting_that_changes_the_run_and_with_the_stream():
    recipe, run = realnvp.RECIPES["ci"], streams(0).child("tabular", "sklearn_wine", 0)
    kale = recipe.energy("sklearn_wine", "kale")
    names = {experiments.digest(kale, run),
             experiments.digest(dataclasses.replace(recipe, energy_lr=1e-3).energy("sklearn_wine", "kale"), run),
             experiments.digest(dataclasses.replace(recipe, flow_hidden=16).energy("sklearn_wine", "kale"), run),
             experiments.digest(kale, streams(0).child("tabular", "sklearn_wine", 1)),
             experiments.digest(kale, streams(1).child("tabular", "sklearn_wine", 0))}
    assert len(names) == 5
    # the flow's identity does not hold the energies' settings: it is trained once for all three
    assert (experiments.digest(recipe.flow("sklearn_wine"), run)
            == experiments.digest(dataclasses.replace(recipe, energy_lr=1e-3).flow("sklearn_wine"), run))


def test_toy_models_train_save_and_load_back(tmp_path):
    torch.set_default_dtype(torch.float64)
    recipe, run = tiny(), streams(0).child("toy")
    data = realnvp.load_data(recipe.toy_flow().data, run)
    assert data.train.shape == (200, 2) and data.val.shape == (50, 2)
    torch.testing.assert_close(realnvp.load_data(recipe.toy_flow().data, run).train, data.train)
    flow = realnvp.train_or_load_flow(recipe.toy_flow(), data, run, tmp_path, checkpoint_every=10)
    energy = realnvp.train_or_load_energy(recipe.toy_energy(), flow.modules["flow"], data, run, tmp_path)
    assert (flow.origin, energy.origin) == ("trained", "trained")
    assert flow.info["eval_steps"] == [0, 10, 20] and energy.info["eval_steps"] == [0, 10, 20]
    checkpoints = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert checkpoints == [f"{flow.name}.pt"]  # named by the digest of the recipe and the stream
    again = realnvp.train_or_load_flow(recipe.toy_flow(), data, run, tmp_path)
    again_energy = realnvp.train_or_load_energy(recipe.toy_energy(), again.modules["flow"], data, run, tmp_path)
    assert (again.origin, again_energy.origin) == ("loaded", "loaded") and again.info == flow.info
    for a, b in zip(again_energy.modules["model"].state_dict().values(),
                    energy.modules["model"].state_dict().values(), strict=True):
        assert torch.equal(a, b)
    other = dataclasses.replace(recipe, toy_flow_lr=1e-2)
    assert realnvp.train_or_load_flow(other.toy_flow(), data, run, tmp_path).origin == "trained"


def test_a_training_run_is_the_same_whatever_was_drawn_before(tmp_path):
    """Named streams: the result depends on the recipe and the stream only, not on the global torch stream."""
    torch.set_default_dtype(torch.float64)
    recipe, run = tiny(), streams(3).child("toy")
    data = realnvp.load_data(recipe.toy_flow().data, run)
    first = realnvp.train_or_load_flow(recipe.toy_flow(), data, run, tmp_path / "a")
    torch.manual_seed(12345)
    torch.randn(100)
    second = realnvp.train_or_load_flow(recipe.toy_flow(), data, run, tmp_path / "b")
    assert first.info == second.info


def test_run_dataset_scores_every_method_and_compare_tabulates_them(tmp_path):
    torch.set_default_dtype(torch.float64)
    comparison = realnvp.compare(tiny(), "sklearn_wine", streams(0), 2, tmp_path, log_z_samples=64,
                                 log_z_repeats=2)
    assert comparison.nll.shape == (4, 2) and comparison.log_z_std.shape == (3, 2)
    assert comparison.sizes == (106, 36, 36) and comparison.dim == 13 and np.isfinite(comparison.gaussian)
    assert set(comparison.runs[0].models) == {"cd", "dv", "kale"}
    assert all(isinstance(m, ebm.EnergyOnBase) for m in comparison.runs[0].models.values())
    assert comparison.mean()["mle"] == pytest.approx(comparison.nll[0].mean())
    steps, curve = comparison.runs[1].curves["kale"]
    assert steps.tolist() == [0, 5, 10] and curve[0] == pytest.approx(comparison.runs[1].curves["dv"][1][0])
    assert comparison.nll[:, 0].tolist() != comparison.nll[:, 1].tolist()  # the two seeds are two runs


@pytest.mark.parametrize(("name", "value", "message"), [
    ("datasets", ["redwine", "power"], "datasets"), ("datasets", [], "datasets"), ("datasets", "power", "datasets"),
    ("grid_cells", 100, "multiple of 8"),
])
def test_the_catalogue_refuses_bad_datasets_and_grids(name, value, message):
    with pytest.raises(ParameterError, match=message):
        SPEC.knob(name).check(value)


def test_the_catalogue_reads_a_comma_separated_list_of_datasets():
    assert SPEC.knob("datasets").check("redwine, hepmass") == ["redwine", "hepmass"]
    assert SPEC.knob("grid_cells").check(96) == 96
