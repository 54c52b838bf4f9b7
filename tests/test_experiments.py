"""Recipes: train_or_load saves the recipe with the model, loads it back exactly, keeps recipes and streams apart,
and refuses a file whose recipe differs; the GEBM recipes train, and their notebook knobs override them."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
import torch
from latentebm import experiments
from latentebm.experiments import gebm_images, gebm_toys, parallel
from latentebm.models.store import StoreError, load_model, model_path, save_model
from latentebm.runtime import initialised_from, streams
from torch import nn


def _build(recipe):
    with initialised_from(streams(0).child("init")):
        return {"net": nn.Linear(2, recipe["width"])}


def _train(modules):
    with torch.no_grad():
        modules["net"].weight.add_(1.0)
    return {"loss": [3.0, 2.0]}


def test_train_then_load_gives_the_same_weights_and_info(tmp_path):
    recipe, stream = {"width": 3}, streams(0).child("toy")
    first = experiments.train_or_load("toy", recipe, stream, tmp_path, _build, _train)
    second = experiments.train_or_load("toy", recipe, stream, tmp_path, _build, _train)
    assert (first.origin, second.origin) == ("trained", "loaded")
    assert first.name == second.name
    assert torch.equal(first.modules["net"].weight, second.modules["net"].weight)
    assert second.info == {"loss": [3.0, 2.0]}


def test_other_recipes_and_streams_get_other_names(tmp_path):
    names = {experiments.train_or_load("toy", r, s, tmp_path, _build, _train).name
             for r in ({"width": 3}, {"width": 4}) for s in (streams(0).child("a"), streams(1).child("a"))}
    assert len(names) == 4


def test_a_file_saved_under_another_recipe_is_refused(tmp_path):
    recipe, stream = {"width": 3}, streams(0).child("toy")
    trained = experiments.train_or_load("toy", recipe, stream, tmp_path, _build, _train)
    # a file under this name whose recipe says something else (e.g. edited by hand or a digest collision)
    payload = load_model(tmp_path, trained.name, lambda _: _build(recipe))
    save_model(tmp_path, trained.name, payload[0], {**payload[1], "recipe": {"recipe": {"width": 5},
                                                                              "stream": str(stream)}})
    with pytest.raises(StoreError, match="another recipe") as caught:
        experiments.train_or_load("toy", recipe, stream, tmp_path, _build, _train)
    assert str(model_path(tmp_path, trained.name)) in str(caught.value)


def test_digest_depends_on_every_recipe_field():
    recipe = gebm_images.RECIPES["ci"]
    stream = streams(0).child("gebm_images", "train", 0)
    changed = replace(recipe, train=replace(recipe.train, gp_weight=0.5))
    assert experiments.digest(recipe, stream) == experiments.digest(gebm_images.recipe("ci"), stream)
    assert experiments.digest(recipe, stream) != experiments.digest(changed, stream)


def test_image_recipe_takes_the_notebook_knobs():
    recipe = gebm_images.recipe("ci", steps=7, classifier_steps=3, amp=None)
    assert (recipe.train.steps, recipe.classifier_steps, recipe.train.amp) == (7, 3, False)
    assert gebm_images.RECIPES["ci"].train.steps == 600  # the frozen recipe itself is untouched


def test_toy_gebm_and_ebm_train_and_reload(tmp_path):
    recipe = gebm_toys.recipe("ci", "curve", points=200, steps=3, refit_steps=2, energy_hidden=8)
    root = streams(0)
    data = gebm_toys.data(recipe, root, 0)
    assert data["x_train"].shape == (100, 2) and data["x_test"].shape == (100, 2)
    assert not torch.equal(data["x_train"], gebm_toys.data(recipe, root, 1)["x_train"])  # seed k draws new data
    first = gebm_toys.gebm(recipe, root, 0, tmp_path, "cpu")
    assert len(first.info["joint"]["steps"]) == 3 and len(first.info["refit"]["steps"]) == 2
    again = gebm_toys.gebm(recipe, root, 0, tmp_path, "cpu")
    assert again.origin == "loaded"
    z = torch.randn(5, 1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first.modules["base"](z), again.modules["base"](z))
    ebm = gebm_toys.ebm(recipe, root, 0, tmp_path, "cpu")
    assert list(ebm.modules["base"].parameters()) == []
    assert len(ebm.info["run"]["steps"]) == 3


def test_toy_models_do_not_depend_on_the_global_stream(tmp_path):
    recipe = gebm_toys.recipe("ci", "sphere", points=100, steps=2, refit_steps=1, energy_hidden=8)
    results = []
    for global_seed, folder in [(1, "a"), (2, "b")]:
        torch.manual_seed(global_seed)
        trained = gebm_toys.gebm(recipe, streams(3), 0, tmp_path / folder, "cpu")
        results.append(trained.modules["energy_refit"].state_dict())
    for a, b in zip(results[0].values(), results[1].values(), strict=True):
        assert torch.equal(a, b)


def test_image_gebm_is_the_same_in_a_float64_notebook(tmp_path, monkeypatch):
    small = replace(gebm_images.RECIPES["ci"], n_test=4900, classifier_steps=2,
                    train=replace(gebm_images.RECIPES["ci"].train, steps=2, batch_size=8, warmup_energy_steps=1,
                                  c_init_samples=16))
    root = streams(0)
    trained = {}
    for dtype, folder in [(torch.float32, "a"), (torch.float64, "b")]:
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            gebm = gebm_images.train_or_load(small, tmp_path / folder, root, 0, "cpu")
            classifier = gebm_images.feature_classifier(small, tmp_path / folder, root, 0, "cpu")
        finally:
            torch.set_default_dtype(previous)
        assert torch.get_default_dtype() == previous
        trained[dtype] = (gebm, classifier)
    (a, ca), (b, cb) = trained[torch.float32], trained[torch.float64]
    assert all(p.dtype == torch.float32 for p in b.modules["base"].parameters())
    for x, y in zip(a.modules["energy"].state_dict().values(), b.modules["energy"].state_dict().values(), strict=True):
        assert torch.equal(x, y)
    for x, y in zip(ca.state_dict().values(), cb.state_dict().values(), strict=True):
        assert torch.equal(x, y)


def test_models_trained_in_worker_processes_are_those_trained_here(tmp_path):
    """parallel.train_all: two seeds trained in two spawned workers equal, bitwise, the same seeds trained in
    this process (the workers take this process's default dtype and one thread)."""
    recipe = gebm_toys.recipe("ci", "curve", points=100, steps=3, refit_steps=2, energy_hidden=8)
    root = streams(5)
    jobs = [partial(gebm_toys.train_seed, recipe, root, k, tmp_path / "workers", "cpu") for k in (0, 1)]
    parallel.train_all(jobs, workers=2)
    for k in (0, 1):
        there = gebm_toys.gebm(recipe, root, k, tmp_path / "workers", "cpu")
        here = gebm_toys.gebm(recipe, root, k, tmp_path / "here", "cpu")
        assert (there.origin, here.origin) == ("loaded", "trained")
        for a, b in zip(there.modules["energy_refit"].state_dict().values(),
                        here.modules["energy_refit"].state_dict().values(), strict=True):
            assert torch.equal(a, b)
        assert gebm_toys.ebm(recipe, root, k, tmp_path / "workers", "cpu").origin == "loaded"


def test_a_failing_job_fails_the_caller():
    with pytest.raises(ValueError, match="unknown toy"):
        parallel.train_all([partial(gebm_toys.recipe, "ci", "torus")] * 2, workers=2)
