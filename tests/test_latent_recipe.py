"""The recipe of notebook 08 (experiments/latent_generators.py): one frozen recipe per profile that the
catalogue's knobs mirror, the learning settings per method, training that is saved and loaded back, and the
held-out evaluations (scored against the images they are given)."""

import dataclasses

import numpy as np
import pytest
import torch
from latentebm import catalogue
from latentebm.experiments import latent_generators as recipes
from latentebm.models.latent_generators import LatentGenerator, reconstruction_error
from latentebm.runtime import initialised_from, streams, torch_generator
from latentebm.training.abp import short_run_infer

SPEC = catalogue.get("08_latent_generators")


def tiny() -> recipes.Recipe:
    return dataclasses.replace(recipes.RECIPES["ci"], hidden=16, train_steps=6, vae_steps=6, tune_every=3,
                               n_steps=4, abp_langevin_steps=2, tune_grid=(0.1, 0.2), tune_batch=4, batch_size=16,
                               tune_gradient_steps=1)


@pytest.fixture(scope="module")
def images():
    return recipes.load_images(recipes.RECIPES["ci"].images(), streams(0))


def test_the_catalogue_offers_the_recipe_values_as_knobs():
    fields = {f.name for f in dataclasses.fields(recipes.Recipe)}
    offered = [knob for knob in SPEC.knobs if knob.name in fields]
    assert len(offered) == 16
    for knob in offered:
        for profile in ("ci", "full"):
            value = getattr(recipes.RECIPES[profile], knob.name)
            assert knob.default(profile) == (list(value) if isinstance(value, tuple) else value)
        knob.check(knob.ci), knob.check(knob.full)


def test_knob_lists_become_tuples_and_other_knobs_are_ignored():
    recipe = recipes.recipe("ci", {"latent_dims": [4], "tune_grid": [0.1], "fa_dims": [3, 2], "eval_grid": [1.0]})
    assert recipe.latent_dims == (4,) and recipe.tune_grid == (0.1,)
    assert recipe.generator_model("abp").latent_dims == (4,)


def test_learning_settings_per_method():
    recipe = recipes.RECIPES["ci"]
    short, abp, vae = recipe.learning("short_run"), recipe.learning("abp"), recipe.learning("vae")
    assert (short.n_steps, short.tune_every) == (recipe.n_steps, recipe.tune_every)
    assert (abp.n_steps, abp.tune_every) == (recipe.abp_langevin_steps, 0)
    assert vae.steps == recipe.vae_steps and short.steps == abp.steps == recipe.train_steps
    assert recipe.learning("short_run", lr=0.5).lr == 0.5
    layered = recipe.generator_model("short_run", recipe.layered_dims, record_grid=False)
    assert layered.latent_dims == recipe.layered_dims and not layered.learning.record_grid


def test_images_split_from_their_stream(images):
    x_train, x_test = images
    assert x_test.shape == (300, 64) and x_train.shape == (1497, 64) and x_train.dtype == torch.float32
    again, _ = recipes.load_images(recipes.RECIPES["ci"].images(), streams(0))
    other, _ = recipes.load_images(recipes.RECIPES["ci"].images(), streams(1))
    assert torch.equal(again, x_train) and not torch.equal(other, x_train)


def test_generators_and_the_vae_train_save_and_load_back(images, tmp_path):
    x_train, _ = images
    recipe, root = tiny(), streams(0)
    short = recipes.train_or_load_generator(recipe.generator_model("short_run"), x_train, root, 0, tmp_path)
    assert short.tune_steps == [0, 3] and len(short.loss) == 6 and short.z_bank is not None
    assert {p.dtype for p in short.net.parameters()} == {torch.float32}
    loaded = recipes.train_or_load_generator(recipe.generator_model("short_run"), x_train, root, 0, tmp_path)
    assert loaded.z_bank is None  # loaded, not trained again: the chains are not kept
    assert (loaded.loss, loaded.s, loaded.s_gradient) == (short.loss, short.s, short.s_gradient)
    for a, b in zip(loaded.net.parameters(), short.net.parameters(), strict=True):
        assert torch.equal(a, b)
    seed_1 = recipes.train_or_load_generator(recipe.generator_model("short_run"), x_train, root, 1, tmp_path)
    assert seed_1.loss != short.loss
    encoder, decoder, trace = recipes.train_or_load_vae(recipe.vae_model(), x_train, root, tmp_path)
    encoder_again, _, trace_again = recipes.train_or_load_vae(recipe.vae_model(), x_train, root, tmp_path)
    assert len(trace) == 6 and trace_again == trace
    assert torch.equal(encoder.net[0].weight, encoder_again.net[0].weight)


def test_held_out_error_scores_against_the_images_it_is_given(images):
    """The bug of notebook 08's old helper: it scored against the global test set, not its argument."""
    x_train, x_test = images
    with initialised_from(torch_generator(0)):
        net = LatentGenerator([3], 64, hidden=16, dtype=torch.float32)
    x = x_train[:5]  # not the test set, and not its size
    error = recipes.held_out_error(net, x, 0.2, 0.15, 4, torch_generator(1))
    z = short_run_infer(net, x, 0.15, 0.2, 4, torch_generator(1))
    assert error == reconstruction_error(x, net(z).detach())
    assert error != recipes.held_out_error(net, x_test[:5], 0.2, 0.15, 4, torch_generator(1))
    visible, hidden = recipes.occlusion_masks(x, 8)
    assert hidden.view(5, 8, 8)[:, 5:, :].all() and not hidden.view(5, 8, 8)[:, :5, :].any()
    inpainting = recipes.held_out_error(net, x, 0.2, 0.15, 4, torch_generator(1), visible, hidden)
    z = short_run_infer(net, x, 0.15, 0.2, 4, torch_generator(1), mask=visible)
    assert inpainting == reconstruction_error(x, net(z).detach(), hidden)


def test_the_reconstruction_curve_uses_the_same_draws_at_every_s(images):
    _, x_test = images
    with initialised_from(torch_generator(0)):
        net = LatentGenerator([3], 64, hidden=16, dtype=torch.float32)
    stream = streams(0).child("held_out")
    curve = recipes.reconstruction_curve(net, x_test[:20], np.array([0.1, 0.1, 0.3]), 0.15, 4, stream)
    assert curve[0] == curve[1] != curve[2]


def test_tuning_logdets_and_the_method_table(images, tmp_path):
    x_train, x_test = images
    recipe, root = tiny(), streams(0)
    short = recipes.train_or_load_generator(recipe.generator_model("short_run"), x_train, root, 0, tmp_path)
    s_gradient, s_grid = recipes.tuned_s(short, x_test[:4], 4, torch_generator(2))
    assert s_grid in recipe.tune_grid
    exact, estimate = recipes.logdet_estimates(short.net, x_test[:3], 0.15, 0.1, 4, torch_generator(3),
                                               torch_generator(4), n_probes=64)
    assert exact.shape == estimate.shape == (3,)
    np.testing.assert_allclose(estimate, exact, rtol=0.2, atol=0.2)
    vae = recipes.train_or_load_vae(recipe.vae_model(), x_train, root, tmp_path)[:2]
    rows = recipes.method_table({"short-run": (short, 0.1)}, vae, x_test[:50], 8, 4, root.child("e"),
                                root.child("s"))
    assert list(rows) == ["short-run", "VAE"] and all(len(row) == 3 and min(row) > 0 for row in rows.values())
