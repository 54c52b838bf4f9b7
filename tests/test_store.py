"""The model store: a saved model comes back bit for bit; a broken file, or one trained with another recipe than
the caller expects, is one StoreError naming the file."""

import re

import numpy as np
import pytest
import torch
from latentebm import runtime
from latentebm.models.store import StoreError, load_model, model_path, save_model

RECIPE = {"hidden": 8, "lr": 1e-3, "sizes": [2, 8, 1], "stream": "0/toy/train"}


def build(config):
    with runtime.initialised_from(runtime.torch_generator(config.get("init", 0))):
        return {"net": torch.nn.Sequential(torch.nn.Linear(2, config["hidden"]), torch.nn.Linear(config["hidden"], 1))}


def saved(tmp_path, recipe=RECIPE):
    modules = build({"hidden": recipe["hidden"], "init": 1})
    save_model(tmp_path, "toy", modules, {"hidden": recipe["hidden"], "recipe": recipe, "info": {"loss": [1.0, 0.5]}})
    return modules


def refused(tmp_path, match, expect=None):
    with pytest.raises(StoreError, match=re.escape(str(model_path(tmp_path, "toy"))) + ".*" + match) as caught:
        load_model(tmp_path, "toy", build, expect=expect)
    assert "weights_only" not in str(caught.value)
    return str(caught.value)


def test_a_saved_model_comes_back_with_its_weights_and_config(tmp_path):
    modules = saved(tmp_path)
    loaded, config = load_model(tmp_path, "toy", build, expect=RECIPE)
    for a, b in zip(modules["net"].parameters(), loaded["net"].parameters(), strict=True):
        assert torch.equal(a, b)
    assert config["recipe"] == RECIPE and config["info"] == {"loss": [1.0, 0.5]}
    # built with init 0, so only the loaded weights can make them equal
    assert not torch.equal(build({"hidden": 8})["net"][0].weight, loaded["net"][0].weight)


def test_nothing_saved_is_none(tmp_path):
    assert load_model(tmp_path, "toy", build) is None


def test_a_tuple_in_the_recipe_matches_its_saved_list(tmp_path):
    saved(tmp_path)
    assert load_model(tmp_path, "toy", build, expect={**RECIPE, "sizes": (2, 8, 1)}) is not None


def test_another_recipe_is_refused_naming_the_differing_keys(tmp_path):
    saved(tmp_path)
    message = refused(tmp_path, "another recipe", expect={**RECIPE, "lr": 1e-2, "stream": "0/toy/train/1"})
    assert "lr: 0.001 -> 0.01" in message and "stream: '0/toy/train' -> '0/toy/train/1'" in message
    assert "hidden" not in message.split("(saved -> expected:")[1].split(")")[0]  # only the differing keys


def test_a_nested_difference_is_named_by_its_path(tmp_path):
    recipe = {"recipe": {"lr": 1e-3, "steps": 10}, "stream": "0/x"}
    save_model(tmp_path, "toy", build({"hidden": 8}), {"hidden": 8, "recipe": recipe})
    message = refused(tmp_path, "another recipe", expect={"recipe": {"lr": 1e-3, "steps": 20}, "stream": "0/x"})
    assert "recipe.steps: 10 -> 20" in message


def test_a_model_saved_without_a_recipe_is_refused_when_one_is_expected(tmp_path):
    save_model(tmp_path, "toy", build({"hidden": 8}), {"hidden": 8})
    refused(tmp_path, "holds no recipe", expect=RECIPE)
    assert load_model(tmp_path, "toy", build) is not None  # without expect it loads as before


def test_an_empty_file(tmp_path):
    saved(tmp_path)
    model_path(tmp_path, "toy").write_bytes(b"")
    refused(tmp_path, "is empty")


def test_a_truncated_file(tmp_path):
    saved(tmp_path)
    path = model_path(tmp_path, "toy")
    path.write_bytes(path.read_bytes()[:-100])
    refused(tmp_path, "cannot be read")


def test_random_bytes(tmp_path):
    saved(tmp_path)
    model_path(tmp_path, "toy").write_bytes(np.random.default_rng(1).bytes(4000))
    refused(tmp_path, "cannot be read")


def test_a_flipped_bit_in_a_weight(tmp_path):
    modules = saved(tmp_path)
    path = model_path(tmp_path, "toy")
    data = bytearray(path.read_bytes())
    weight = modules["net"][1].weight.detach().numpy().tobytes()
    at = data.find(weight)
    assert at >= 0
    data[at + 2] ^= 0b1
    path.write_bytes(bytes(data))
    damaged = torch.load(path, weights_only=True)["payload"]["state"]["net"]["1.weight"]
    assert not torch.equal(damaged, modules["net"][1].weight.detach())  # torch alone loads the damage
    refused(tmp_path, "fails its checksum")


def test_a_file_of_the_format_before_checksums(tmp_path):
    path = model_path(tmp_path, "toy")
    path.parent.mkdir(parents=True)
    torch.save({"config": {"hidden": 8}, "state": {"net": build({"hidden": 8})["net"].state_dict()}}, path)
    refused(tmp_path, "is not a checked")


def test_weights_that_do_not_fit_the_rebuilt_modules(tmp_path):
    save_model(tmp_path, "toy", build({"hidden": 8}), {"hidden": 8})
    with pytest.raises(StoreError, match="the weights of 'net' do not fit"):
        load_model(tmp_path, "toy", lambda config: build({"hidden": 4}))


def test_a_config_of_non_plain_values_is_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match=r"config\['bad'\]"):
        save_model(tmp_path, "toy", build({"hidden": 8}), {"hidden": 8, "bad": object()})
