"""Seed 004 (Hu et al., On unifying deep generative models): Lemma 1 by quadrature and its control, the quadrature
divergences against closed forms, the KL-direction fits, IWGAN's weights (normalised per group, detached), the
AAVAE's loss, and the adversarial loops' checkpoints and guard."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from latentebm.data.toys_anatomy import ToyTarget
from latentebm.divergences import gaussian
from latentebm.divergences import unifying as exact
from latentebm.experiments import unifying as recipes
from latentebm.guards import DivergenceError
from latentebm.models.latent_generators import LatentGenerator
from latentebm.models.vae import Encoder
from latentebm.ops import mlp
from latentebm.runtime import initialised_from, streams, torch_generator
from latentebm.training import adversarial
from latentebm.training.adversarial import (
    AAVAEConfig,
    GANConfig,
    VAEConfig,
    generator_loss,
    importance_weights,
    train_aavae,
    train_gan,
    train_gaussian_vae,
)
from latentebm.training.loop import CheckpointError
from torch import nn
from torch.nn.functional import logsigmoid

GRID = exact.grid(12.0, 4001)
DATA = exact.Mixture1D((0.5, 0.5), (-1.5, 2.0), (0.5, 0.7))


# --- Lemma 1 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("coefficients", [(0.2, 0.5, -0.1), (-1.0, 0.3, 0.05, -0.02), (0.4, -0.8)],
                         ids=["quadratic", "cubic", "linear"])
@pytest.mark.parametrize("theta0", [(0.3, math.log(1.2)), (-2.0, math.log(0.6))])
def test_lemma1_two_sides_agree_for_a_non_optimal_discriminator(coefficients, theta0):
    problem = exact.Lemma1Problem(DATA, theta0, coefficients)
    result = exact.lemma1_gradients(problem, GRID, delta=(0.5, 0.0))
    assert result["lhs"].norm() > 1e-3  # a non-trivial gradient
    assert result["rel_error"] < 1e-10
    assert result["control_rel_error"] > 1e-2  # the prior at the wrong theta breaks the identity


def test_lemma1_control_error_vanishes_with_the_shift_and_grows_with_it():
    problem = recipes.lemma1_problem()
    errors = [float(exact.lemma1_gradients(problem, GRID, (shift, 0.0))["control_rel_error"])
              for shift in (0.0, 0.1, 0.5)]
    assert errors[0] < 1e-10 and 1e-3 < errors[1] < errors[2]


def test_lemma1_generator_side_is_the_non_saturating_loss():
    problem = recipes.lemma1_problem()
    theta = torch.tensor(problem.theta0, dtype=torch.float64)
    log_g, log_data = exact.conditionals(theta, problem, GRID)
    logit = exact.discriminator_logit(GRID.points, problem.coefficients)
    expected = -0.5 * exact.integrate(log_g.exp() * logsigmoid(logit), GRID) \
        - 0.5 * exact.integrate(log_data.exp() * logsigmoid(-logit), GRID)
    assert torch.isclose(exact.generator_loss(theta, problem, GRID), expected, rtol=1e-14)


def test_posterior_is_normalised_and_proportional_to_discriminator_times_prior():
    problem = recipes.lemma1_problem()
    theta0 = torch.tensor(problem.theta0, dtype=torch.float64)
    for y in (0, 1):
        log_q = exact.posterior_log_density(y, problem, theta0, GRID)
        assert abs(float(exact.integrate(log_q.exp(), GRID)) - 1) < 1e-12
        log_g, log_data = exact.conditionals(theta0, problem, GRID)
        ratio = log_q - exact.log_qr(y, exact.discriminator_logit(GRID.points, problem.coefficients)) \
            - torch.logaddexp(log_g, log_data)
        assert float(ratio.max() - ratio.min()) < 1e-10  # a constant: -log Z_y


# --- quadrature divergences and the KL directions ----------------------------------------------------------------


@pytest.mark.parametrize(("p", "q"), [((0.0, 1.0), (1.0, 2.0)), ((-2.0, 0.5), (1.5, 1.3)), ((0.3, 1.1), (0.3, 1.1))])
def test_quadrature_kl_matches_the_gaussian_closed_form(p, q):
    log_p = exact.gaussian_log_prob(GRID.points, p[0], math.log(p[1]))
    log_q = exact.gaussian_log_prob(GRID.points, q[0], math.log(q[1]))
    closed = gaussian.kl(gaussian.Gaussian1D(*p), gaussian.Gaussian1D(*q))
    assert abs(float(exact.kl(log_p, log_q, GRID)) - closed) < 1e-10


def test_quadrature_jsd_is_symmetric_bounded_and_zero_on_equal_densities():
    log_p = exact.gaussian_log_prob(GRID.points, -1.0, 0.0)
    log_q = DATA.log_prob(GRID.points)
    forward, backward = float(exact.jsd(log_p, log_q, GRID)), float(exact.jsd(log_q, log_p, GRID))
    assert abs(forward - backward) < 1e-14 and 0 < forward < math.log(2)
    assert abs(float(exact.jsd(log_p, log_p, GRID))) < 1e-14
    far = exact.gaussian_log_prob(GRID.points, 9.0, math.log(0.3))  # nearly disjoint from p
    assert abs(float(exact.jsd(log_p, far, GRID)) - math.log(2)) < 1e-6


def test_mixture_density_and_moments():
    assert abs(float(exact.integrate(DATA.log_prob(GRID.points).exp(), GRID)) - 1) < 1e-12
    mean, sd = DATA.moments()
    p = DATA.log_prob(GRID.points).exp()
    assert abs(float(exact.integrate(p * GRID.points, GRID)) - mean) < 1e-12
    assert abs(float(exact.integrate(p * (GRID.points - mean) ** 2, GRID)) - sd**2) < 1e-12


def test_reverse_kl_by_quadrature_in_model_coordinates_matches_the_closed_form():
    target = exact.Mixture1D((1.0,), (0.7,), (1.4,))
    theta = torch.tensor([-0.5, math.log(0.8)], dtype=torch.float64)
    closed = gaussian.kl(gaussian.Gaussian1D(-0.5, 0.8), gaussian.Gaussian1D(0.7, 1.4))
    assert abs(float(exact.divergence_to_target(theta, target, "reverse", GRID)) - closed) < 1e-10
    closed_forward = gaussian.kl(gaussian.Gaussian1D(0.7, 1.4), gaussian.Gaussian1D(-0.5, 0.8))
    assert abs(float(exact.divergence_to_target(theta, target, "forward", GRID)) - closed_forward) < 1e-10


def test_forward_fit_matches_moments_and_reverse_fits_seek_the_nearest_mode():
    target = recipes.bimodal_target()
    fits = exact.kl_direction_fits(target, [(-4.0, 1.0), (3.5, 1.0)], GRID)
    mean, sd = target.moments()
    assert np.allclose(fits["forward"]["mean"], mean, atol=1e-6) and np.allclose(fits["forward"]["sd"], sd, atol=1e-6)
    assert np.allclose(fits["reverse"]["mean"], [-3.0, 3.0], atol=1e-4)
    assert np.allclose(fits["reverse"]["sd"], 0.5, atol=1e-4)
    assert min(max(m) for m in fits["reverse"]["mass"]) > 0.99
    assert exact.gaussian_mass(0.0, 1.0, -1.0, 1.0) == pytest.approx(0.6826894921370859, abs=1e-14)


# --- IWGAN's weights ---------------------------------------------------------------------------------------------


def test_importance_weights_are_normalised_within_each_group_of_k():
    logits = torch.randn(24, generator=torch_generator(0))
    w = importance_weights(logits, 8)
    assert w.shape == (3, 8) and torch.allclose(w.sum(1), torch.ones(3, dtype=w.dtype))
    raw = logits.exp().reshape(3, 8)
    assert torch.allclose(w, raw / raw.sum(1, keepdim=True))  # w_i = q^r / q = D / (1 - D) = exp(logit)
    changed = logits.clone()
    changed[0] += 5.0  # group 0 only
    assert torch.equal(importance_weights(changed, 8)[1:], w[1:])
    assert torch.equal(importance_weights(logits, 1), torch.ones(24, 1))
    with pytest.raises(ValueError, match="no multiple"):
        importance_weights(logits, 5)


def test_iwgan_with_equal_weights_is_the_gan():
    logits = torch.full((16,), 0.3).requires_grad_(True)
    assert torch.isclose(generator_loss(logits, "iwgan", 4), generator_loss(logits, "gan"))
    other = torch.randn(16, generator=torch_generator(1))
    assert torch.isclose(generator_loss(other, "iwgan", 1), generator_loss(other, "gan"))


def test_iwgan_gradient_is_the_weighted_sum_of_per_sample_gradients_with_constant_weights():
    with initialised_from(torch_generator(3)):
        g_net, d_net = mlp([2, 8, 2]), mlp([2, 8, 1])
    z, k = torch.randn(12, 2, generator=torch_generator(4)), 4
    loss = generator_loss(d_net(g_net(z)).squeeze(-1), "iwgan", k)
    grads = torch.autograd.grad(loss, list(g_net.parameters()))
    with torch.no_grad():
        w = importance_weights(d_net(g_net(z)).squeeze(-1), k).reshape(-1)
    expected = [torch.zeros_like(p) for p in g_net.parameters()]
    for i in range(z.shape[0]):  # eq. 7: sum_i w~_i grad log q^r(y=0|x_i), w~ constants; mean over groups
        log_d = logsigmoid(d_net(g_net(z[i:i + 1]))).sum()
        for e, gi in zip(expected, torch.autograd.grad(log_d, list(g_net.parameters())), strict=True):
            e -= w[i] * gi / (z.shape[0] // k)
    for a, b in zip(grads, expected, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    # the test can fail: weights that carry their own gradient give another one
    logits = d_net(g_net(z)).squeeze(-1)
    attached = -(torch.softmax(logits.reshape(-1, k), 1) * logsigmoid(logits).reshape(-1, k)).sum(1).mean()
    other = torch.autograd.grad(attached, list(g_net.parameters()))
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(other, grads, strict=True))


# --- the AAVAE's loss --------------------------------------------------------------------------------------------


def small_vae(dim: int = 16, latent: int = 3) -> tuple[nn.Module, nn.Module, nn.Module]:
    with initialised_from(torch_generator(5)):
        return (Encoder(dim, latent, hidden=8), LatentGenerator((latent,), dim, hidden=8, output="linear"),
                mlp([dim, 8, 1], nn.ReLU))


def test_aavae_loss_without_adversary_is_the_negative_elbo_and_detaches_the_discriminator():
    encoder, decoder, discriminator = small_vae()
    x = (torch.rand(6, 16, generator=torch_generator(6)) < 0.5).float()
    fake = (torch.rand(6, 16, generator=torch_generator(7)) < 0.5).float()
    plain, real, weight = adversarial.aavae_loss(encoder, decoder, discriminator, x, None, 0.0, torch_generator(8))
    assert torch.isclose(plain, -real) and float(weight) == 0.0
    loss, _, weight = adversarial.aavae_loss(encoder, decoder, discriminator, x, fake, 1.0, torch_generator(8))
    loss.backward()
    assert all(p.grad is None for p in discriminator.parameters())  # the weights are constants
    assert 0 < float(weight) < 1


# --- the loops: checkpoints and guards ---------------------------------------------------------------------------


TOY = ToyTarget("gmm", 8, sd=0.05, radius=2.0)


def gan_run(config: GANConfig, checkpoint=None, fail_at=None):
    calls = {"n": 0}

    def data(n, rng):
        calls["n"] += 1
        if fail_at is not None and calls["n"] == fail_at:
            raise KeyboardInterrupt
        return TOY.sample(n, rng)

    with initialised_from(torch_generator(9)):
        g_net, d_net = mlp([2, 16, 2], nn.ReLU), mlp([2, 16, 1], nn.ReLU)
    history = train_gan(g_net, d_net, data, config, torch_generator(10), checkpoint=checkpoint)
    return g_net, d_net, history


@pytest.mark.parametrize("objective", ["gan", "iwgan"])
def test_gan_training_resumes_exactly_from_a_checkpoint(tmp_path, objective):
    config = GANConfig(objective=objective, k=4, steps=6, batch_size=16, checkpoint_every=3)
    reference = gan_run(GANConfig(objective=objective, k=4, steps=6, batch_size=16))
    path = tmp_path / "gan.pt"
    with pytest.raises(KeyboardInterrupt):
        gan_run(config, path, fail_at=5)  # dies in update 5, after the checkpoint of update 3
    resumed = gan_run(config, path)
    for net, other in zip(reference[:2], resumed[:2], strict=True):
        for a, b in zip(net.parameters(), other.parameters(), strict=True):
            assert torch.equal(a, b)
    assert reference[2] == resumed[2]
    with pytest.raises(CheckpointError, match="another config"):
        gan_run(GANConfig(objective=objective, k=4, steps=6, batch_size=16, checkpoint_every=3, lr=2e-3), path)


def test_aavae_training_resumes_exactly_from_a_checkpoint(tmp_path, monkeypatch):
    x_train = torch.rand(30, 16, generator=torch_generator(11))
    config = AAVAEConfig(steps=6, batch_size=8, checkpoint_every=3)

    def run(cfg, checkpoint=None):
        nets = small_vae()
        return nets, train_aavae(*nets, x_train, cfg, torch_generator(12), checkpoint=checkpoint)

    reference_nets, reference = run(AAVAEConfig(steps=6, batch_size=8))
    calls = {"n": 0}
    binarise = adversarial.binarise

    def failing(x, rng):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return binarise(x, rng)

    path = tmp_path / "aavae.pt"
    monkeypatch.setattr(adversarial, "binarise", failing)
    with pytest.raises(KeyboardInterrupt):
        run(config, path)
    monkeypatch.setattr(adversarial, "binarise", binarise)
    resumed_nets, resumed = run(config, path)
    for net, other in zip(reference_nets, resumed_nets, strict=True):
        for a, b in zip(net.parameters(), other.parameters(), strict=True):
            assert torch.equal(a, b)
    assert reference == resumed and len(reference["elbo"]) == 6


def test_loops_stop_on_a_non_finite_loss():
    class Broken(nn.Module):
        def __init__(self, n_in: int, n_out: int, scale: float) -> None:
            super().__init__()
            self.linear, self.scale = nn.Linear(n_in, n_out), scale

        def forward(self, x):
            return self.linear(x) * self.scale

    with initialised_from(torch_generator(9)):
        g_net, encoder = mlp([2, 8, 2]), Encoder(2, 2, hidden=8)
        broken_discriminator, broken_decoder = Broken(2, 1, float("nan")), Broken(2, 2, float("inf"))
    with pytest.raises(DivergenceError, match="d_loss"):
        train_gan(g_net, broken_discriminator, lambda n, rng: TOY.sample(n, rng), GANConfig(steps=3, batch_size=8),
                  torch_generator(0))
    with pytest.raises(DivergenceError, match="elbo"):
        train_gaussian_vae(encoder, broken_decoder, lambda n, rng: TOY.sample(n, rng), VAEConfig(steps=2),
                           torch_generator(0))


# --- the recipes and evaluations ---------------------------------------------------------------------------------


def test_mode_statistics_on_the_data_and_on_a_collapsed_sampler():
    x = TOY.sample(4000, torch_generator(13))
    stats = recipes.mode_statistics(x, TOY, 0.2)
    assert stats["modes"] == 8 and abs(stats["good"] - (1 - math.exp(-4.5))) < 0.01 and stats["counts"].sum() > 3900
    collapsed = TOY.means(torch.float32)[2] + 0.05 * torch.randn(1000, 2, generator=torch_generator(14))
    stats = recipes.mode_statistics(collapsed, TOY, 0.2)
    assert stats["modes"] == 1 and stats["counts"][2] == stats["counts"].sum()
    nowhere = recipes.mode_statistics(torch.zeros(100, 2), TOY, 0.2)  # the circle's centre: no mode near
    assert nowhere["modes"] == 0 and nowhere["good"] == 0.0


@pytest.mark.parametrize("profile", ["ci", "full"])
def test_recipes_pair_the_models_of_a_seed(profile):
    gan, iwgan = recipes.toy_recipe(profile, "gan"), recipes.toy_recipe(profile, "iwgan")
    vae = recipes.toy_recipe(profile, "vae")
    assert gan.train.batch_size % iwgan.train.k == 0 and vae.train.sigma == gan.toy.sd
    root = streams(0)
    built = {r.model: recipes.build_toy(r, recipes.toy_stream(root, 1)) for r in (gan, iwgan, vae)}
    for other in ("iwgan", "vae"):
        for a, b in zip(built["gan"]["generator"].parameters(), built[other]["generator"].parameters(), strict=True):
            assert torch.equal(a, b)
    plain, aavae = recipes.digit_recipe(profile, "vae", 0.01), recipes.digit_recipe(profile, "aavae", 0.01)
    assert plain.train.adversary_weight == 0 and aavae.train.adversary_weight > 0
    with pytest.raises(ValueError):
        recipes.toy_recipe(profile, "wgan")


def test_training_subsets_are_nested_and_seeded():
    pool = torch.arange(400.0).reshape(200, 2)
    small = recipes.training_subset(pool, 0.01, streams(0), 1)
    large = recipes.training_subset(pool, 0.1, streams(0), 1)
    assert small.shape == (2, 2) and large.shape == (20, 2) and torch.equal(large[:2], small)
    assert not torch.equal(recipes.training_subset(pool, 0.1, streams(0), 2), large)


def test_a_toy_run_is_trained_once_then_loaded(tmp_path):
    r = recipes.toy_recipe("ci", "iwgan", steps=4)
    first = recipes.train_or_load_toy(r, streams(0), 0, tmp_path)
    again = recipes.train_or_load_toy(r, streams(0), 0, tmp_path)
    assert (first.origin, again.origin) == ("trained", "loaded")
    x = recipes.toy_samples(again, r, 50, torch_generator(0))
    assert x.shape == (50, 2) and torch.isfinite(x).all()


def test_a_digits_job_trains_then_its_run_loads_and_scores(tmp_path):
    r = recipes.digit_recipe("ci", "aavae", 0.01, steps=3)
    recipes.train_job(r, streams(0), 0, tmp_path, tmp_path / "train.log")
    trained = recipes.train_or_load_digits(r, streams(0), 0, tmp_path)
    assert trained.origin == "loaded" and "digits aavae 0.01 seed 0" in (tmp_path / "train.log").read_text()
    _, x_test = recipes.digit_data(r.dataset, streams(0))
    assert x_test.shape == (1000, 196) and set(x_test.unique().tolist()) <= {0.0, 1.0}
    value = recipes.test_elbo(trained, x_test[:50], 2, torch_generator(0))
    assert math.isfinite(value) and value < 0
