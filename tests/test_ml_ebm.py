"""Maximum-likelihood EBM learning of notebook 10 (the anatomy paper): the ML gradient against a closed form, the
grid normaliser against a Gaussian, the rescaled Langevin step, the diagnostics on hand-computed batches, the
ensemble's independence of members, the toy targets' densities, and the training loop's checkpoint and guard."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from latentebm.data.toys_anatomy import ToyTarget
from latentebm.experiments import ml_ebms
from latentebm.guards import DivergenceError
from latentebm.metrics import grid_density as G
from latentebm.metrics.learning_diagnostics import autocorrelation, energy_difference, gradient_magnitude
from latentebm.models.ensembles import EnsembleMLP
from latentebm.runtime import initialised_from, torch_generator
from latentebm.training.loop import CheckpointError
from latentebm.training.ml_ebm import Bank, MLConfig, langevin_chains, ml_loss, negatives, temperature, train_ml
from torch import nn


class GaussianFamily(nn.Module):
    """U_theta(x) = theta_1 x + theta_2 x^2 / 2 (an exponential family with statistics T = (x, x^2 / 2)), as an
    "ensemble" of one member on 1-D inputs (S, B, 1) -> (S, B); with eps = sqrt(2) the rescaling is the identity."""

    members, sizes = 1, (1, 1)

    def __init__(self, theta_1: float, theta_2: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta_1, theta_2], dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.squeeze(-1)
        return self.theta[0] * x + self.theta[1] * x * x / 2


def exact_nll(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """mean U(data) + log Z, log Z = log sqrt(2 pi / theta_2) + theta_1^2 / (2 theta_2)."""
    t1, t2 = theta
    return (t1 * x + t2 * x * x / 2).mean() + 0.5 * torch.log(2 * math.pi / t2) + t1 * t1 / (2 * t2)


def test_ml_gradient_matches_the_exponential_family_closed_form():
    rng = torch_generator(0)
    x_data = 0.7 + 1.3 * torch.randn(1, 4000, 1, generator=rng, dtype=torch.float64)
    family = GaussianFamily(0.4, 1.6)
    t1, t2 = 0.4, 1.6
    mean, var = -t1 / t2, 1 / t2  # the model p_theta = N(-theta_1 / theta_2, 1 / theta_2)
    closed = torch.tensor([x_data.mean() - mean, (x_data.pow(2).mean() - (var + mean**2)) / 2])
    # the closed form is the derivative of the exact NLL
    theta = family.theta.detach().clone().requires_grad_(True)
    (exact,) = torch.autograd.grad(exact_nll(theta, x_data.squeeze()), theta)
    assert torch.allclose(exact, closed, atol=1e-10)
    # the loss d on exact model samples has the ML gradient, up to the samples' Monte Carlo error
    n = 400_000
    x_model = mean + math.sqrt(var) * torch.randn(1, n, 1, generator=rng, dtype=torch.float64)
    (gradient,) = torch.autograd.grad(ml_loss(family, x_data, x_model, math.sqrt(2.0)).sum(), family.theta)
    standard_error = torch.stack([x_model.std(), (x_model.pow(2) / 2).std()]) / math.sqrt(n)
    assert torch.all((gradient - closed).abs() < 5 * standard_error)
    assert gradient.abs().max() > 0.1  # the data are not the model: a real gradient
    # with another eps, U = F / (eps^2 / 2): the same F-family gives the gradient divided by eps^2 / 2
    (scaled,) = torch.autograd.grad(ml_loss(family, x_data, x_model, 0.1).sum(), family.theta)
    assert torch.allclose(scaled, gradient / temperature(0.1), rtol=1e-10)


def test_ml_loss_treats_the_samples_as_constants():
    family = GaussianFamily(0.4, 1.6)
    x_samples = torch.randn(1, 10, 1, dtype=torch.float64, requires_grad=True)
    loss = ml_loss(family, torch.zeros(1, 10, 1, dtype=torch.float64), x_samples, 0.1)
    loss.sum().backward()
    assert x_samples.grad is None


def test_grid_normaliser_and_kl_against_gaussians():
    grid = G.square_grid(8.0, 400)
    mean, cov = torch.tensor([0.5, -0.3], dtype=torch.float64), torch.tensor([[1.0, 0.3], [0.3, 0.6]],
                                                                             dtype=torch.float64)

    def neg_energy(m, c):
        centred = grid.points - m
        return -0.5 * ((centred @ torch.linalg.inv(c)) * centred).sum(1)

    log_z = G.log_normaliser(neg_energy(mean, cov), grid.cell_area)
    assert abs(float(log_z) - math.log(2 * math.pi * math.sqrt(torch.linalg.det(cov)))) < 1e-6
    log_p = G.normalised_log_density(neg_energy(mean, cov), grid.cell_area)
    exact = torch.distributions.MultivariateNormal(mean, cov).log_prob(grid.points)
    inside = exact > -20
    assert torch.allclose(log_p[inside], exact[inside], atol=1e-6)
    mean_q, cov_q = torch.tensor([0.0, 0.2], dtype=torch.float64), torch.tensor([[0.8, 0.0], [0.0, 1.2]],
                                                                                dtype=torch.float64)
    log_q = G.normalised_log_density(neg_energy(mean_q, cov_q), grid.cell_area)
    closed = torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(mean, cov),
                                               torch.distributions.MultivariateNormal(mean_q, cov_q))
    assert abs(float(G.kl_on_grid(log_p, log_q, grid.cell_area)) - float(closed)) < 1e-5
    assert abs(float(G.kl_on_grid(log_p, log_p, grid.cell_area))) < 1e-12
    draws = G.sample_grid(log_p, grid, 200_000, torch_generator(1))
    assert torch.allclose(draws.mean(0), mean, atol=0.01)
    assert torch.allclose(torch.cov(draws.T), cov, atol=0.02)


@pytest.mark.parametrize("target", [ToyTarget("gmm", 8), ToyTarget("rings", 4), ToyTarget("rings", 2)])
def test_toy_densities_integrate_to_one_and_match_their_samples(target):
    grid = G.square_grid(target.extent + 0.5, 400)
    log_p = target.log_density(grid.points)
    assert abs(float(log_p.exp().sum() * grid.cell_area) - 1) < 1e-3
    x = target.sample(20000, torch_generator(2), dtype=torch.float64)
    # the samples' mean log-density agrees with the density's own expectation (its negative entropy)
    expected = float((log_p.exp() * log_p).sum() * grid.cell_area)
    assert abs(float(target.log_density(x).mean()) - expected) < 0.05


def test_rescaled_langevin_step_is_the_unscaled_step_with_the_matching_size():
    with initialised_from(torch_generator(3)):
        energy = EnsembleMLP(2, (2, 16, 1))
    x0 = torch.randn(2, 50, 2, generator=torch_generator(4))
    eps = 0.2
    x1, r, accepted = langevin_chains(energy, x0, eps, 1, torch_generator(5))
    # x - grad F + eps xi, with xi the same draw from the same stream
    xr = x0.clone().requires_grad_(True)
    (grad_f,) = torch.autograd.grad(energy(xr).sum(), xr)
    xi = torch.randn(100, 2, generator=torch_generator(5)).reshape(2, 50, 2)
    assert torch.allclose(x1, x0 - grad_f + eps * xi, atol=1e-6)
    # r is the mean drift length |grad F| at the states the step moved from
    assert torch.allclose(r, grad_f.norm(dim=-1).mean(-1), atol=1e-6)
    assert torch.all(accepted == 1)
    assert temperature(eps) == pytest.approx(0.02)


class Quadratic(nn.Module):
    """F(x) = c |x|^2 / 2 for one member: with eps, p ∝ exp(-F / (eps^2/2)) = N(0, sigma^2 I), sigma^2 = eps^2 / 2c."""

    members, sizes = 1, (1, 1)

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c * x.pow(2).sum(-1) / 2


def test_mala_long_run_is_exact_where_ula_is_biased():
    # ULA with step h on N(0, sigma^2) has the stationary variance sigma^2 / (1 - h / (2 sigma^2)); MALA's is sigma^2
    c, eps = 0.6, 0.5
    sigma2, h = eps**2 / (2 * c), temperature(eps)
    x0 = math.sqrt(sigma2) * torch.randn(1, 20000, 1, generator=torch_generator(4), dtype=torch.float64)
    x_ula, _, _ = langevin_chains(Quadratic(c), x0, eps, 200, torch_generator(6))
    x_mala, _, accepted = langevin_chains(Quadratic(c), x0, eps, 200, torch_generator(6), sampler="mala")
    assert abs(float(x_ula.var()) - sigma2 / (1 - h / (2 * sigma2))) < 0.03 * sigma2
    assert abs(float(x_mala.var()) - sigma2) < 0.03 * sigma2
    assert sigma2 / (1 - h / (2 * sigma2)) > 1.2 * sigma2  # the two differ by more than the tolerance
    assert 0.5 < float(accepted) < 1.0


def test_diagnostics_on_a_fixed_batch():
    u_data = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 3.0]])
    u_samples = torch.tensor([[4.0, 6.0], [-1.0, 1.0]])
    assert torch.equal(energy_difference(u_data, u_samples), torch.tensor([2.0 - 5.0, 1.0 - 0.0]))
    grad = torch.tensor([[[3.0, 4.0], [0.0, 1.0]], [[6.0, 8.0], [0.0, 0.0]]])
    assert torch.equal(gradient_magnitude(grad), torch.tensor([3.0, 5.0]))
    series = np.array([1.0, -1.0, 1.0, -1.0])  # mean 0; lag-1 products -1, -1, -1 over sum of squares 4
    assert np.allclose(autocorrelation(series, 2), [1.0, -0.75, 0.5])


def test_autocorrelation_of_an_ar1_process():
    rng = np.random.default_rng(0)
    phi, n = 0.6, 200_000
    x = np.zeros((n, 2))
    noise = rng.standard_normal((n, 2))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    acf = autocorrelation(x, 3)
    assert acf.shape == (4, 2)
    assert np.allclose(acf, np.array([1, phi, phi**2, phi**3])[:, None], atol=0.01)
    with pytest.raises(ValueError):
        autocorrelation(x[:3], 3)


def test_ensemble_members_are_independent_networks():
    with initialised_from(torch_generator(7)):
        energy = EnsembleMLP(3, (4, 8, 8, 1))
    x = torch.randn(3, 5, 4, generator=torch_generator(8))
    out = energy(x)
    for s in range(3):
        assert torch.allclose(energy.member(s)(x[s]).squeeze(-1), out[s], atol=1e-6)
    # the gradient of member 0's output touches member 0's weights only
    energy(x)[0].sum().backward()
    for weight in energy.weights:
        assert weight.grad[1:].abs().max() == 0 and weight.grad[0].abs().max() > 0
    with pytest.raises(ValueError):
        energy(torch.randn(2, 5, 4))


def tiny_config(**changes) -> MLConfig:
    values = dict(iterations=6, epsilon=0.1, langevin_steps=3, init="persistent", bank_size=40, optimiser="adam",
                  lr=1e-3, batch_size=10)
    return MLConfig(**{**values, **changes})


def tiny_run(config, checkpoint=None, fail_at=None):
    target = ToyTarget("gmm", 8)
    calls = {"n": 0}

    def data(n, rng):
        calls["n"] += 1
        if fail_at is not None and calls["n"] == fail_at:
            raise KeyboardInterrupt
        return torch.stack([target.sample(n, rng) for _ in range(2)])

    with initialised_from(torch_generator(9)):
        energy = EnsembleMLP(2, (2, 16, 1))
    bank = Bank(2, config.bank_size if config.init == "persistent" else 0, 2)
    run = train_ml(energy, bank, data, config, torch_generator(10), checkpoint=checkpoint)
    return energy, bank, run


def test_training_resumes_exactly_from_a_checkpoint(tmp_path):
    config = tiny_config(checkpoint_every=3)
    reference, reference_bank, reference_run = tiny_run(tiny_config())
    path = tmp_path / "ml.pt"
    with pytest.raises(KeyboardInterrupt):
        tiny_run(config, path, fail_at=5)  # dies in update 5, after the checkpoint of update 3
    resumed, resumed_bank, resumed_run = tiny_run(config, path)
    for a, b in zip(reference.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(reference_bank.states, resumed_bank.states)
    assert np.array_equal(reference_run.d, resumed_run.d) and np.array_equal(reference_run.r, resumed_run.r)
    with pytest.raises(CheckpointError, match="another config"):
        tiny_run(tiny_config(checkpoint_every=3, lr=2e-3), path)


def test_training_stops_on_a_non_finite_energy():
    config = tiny_config(init="gaussian", iterations=3)

    class Broken(EnsembleMLP):
        def forward(self, x):
            return super().forward(x) * float("nan")

    with initialised_from(torch_generator(9)):
        energy = Broken(2, (2, 8, 1))
    data = lambda n, rng: torch.randn(2, n, 2, generator=rng)  # noqa: E731
    with pytest.raises(DivergenceError):
        train_ml(energy, Bank(2, 0, 2), data, config, torch_generator(0))


def test_persistent_negatives_write_back_only_when_asked():
    config = tiny_config()
    with initialised_from(torch_generator(9)):
        energy = EnsembleMLP(2, (2, 8, 1))
    bank = Bank(2, 40, 2)
    bank.states.copy_(torch.rand(2, 40, 2, generator=torch_generator(1)))
    before = bank.states.clone()
    negatives(energy, config, bank, 10, torch_generator(2), update=False)
    assert torch.equal(bank.states, before)
    x, _ = negatives(energy, config, bank, 10, torch_generator(2), update=True)
    index = torch.rand(2, 40, generator=torch_generator(2)).argsort(1)[:, :10]  # the draw negatives makes first
    assert torch.equal(torch.gather(bank.states, 1, index[..., None].expand(2, 10, 2)), x)
    untouched = torch.ones(2, 40, dtype=torch.bool).scatter_(1, index, False)
    assert torch.equal(bank.states[untouched], before[untouched])
    assert not torch.equal(x, torch.gather(before, 1, index[..., None].expand(2, 10, 2)))  # the chains moved


def test_sgd_learning_rate_is_rescaled_and_adam_is_not():
    assert tiny_config(optimiser="sgd", lr=0.1).optimiser_lr == pytest.approx(0.1 * 0.1**2 / 2)
    assert tiny_config(optimiser="adam", lr=0.1).optimiser_lr == 0.1
    with pytest.raises(ValueError):
        tiny_config(init="bank")


def test_full_recipes_are_the_authors_configurations():
    convergent = ml_ebms.toy_recipe("full", "convergent").train
    assert (convergent.optimiser, convergent.lr, convergent.epsilon, convergent.langevin_steps, convergent.init,
            convergent.bank_size, convergent.iterations, convergent.batch_size) == (
        "sgd", 0.1, 0.125, 500, "persistent", 10000, 200000, 100)
    nonconvergent = ml_ebms.toy_recipe("full", "nonconvergent").train
    assert (nonconvergent.optimiser, nonconvergent.lr, nonconvergent.epsilon, nonconvergent.langevin_steps,
            nonconvergent.init, nonconvergent.iterations) == ("adam", 1e-4, 0.01, 100, "gaussian", 100000)
    assert nonconvergent.init_scale == (1.0,) * 3 + (2.0,) * 3  # the authors' noise_init_factor per toy
    image = ml_ebms.image_recipe("full").train
    assert (image.optimiser, image.lr, image.epsilon, image.init, image.data_noise, image.langevin_steps) == (
        "adam", 1e-4, 0.01, "uniform", 0.03, 150)
    mnist = ml_ebms.image_recipe("full", "convergent").train
    assert (mnist.optimiser, mnist.lr, mnist.epsilon, mnist.langevin_steps, mnist.init, mnist.bank_size,
            mnist.data_noise) == ("sgd", 1e-2, 7.5e-3, 500, "persistent", 60000, 1.5e-2)
    assert [t.kind for t in ml_ebms.toy_recipe("full", "convergent").toys] == ["gmm", "rings"]
    assert ml_ebms.toy_recipe("full", "convergent").toys[1].groups == 4


def test_noise_starts_take_one_scale_per_member():
    from latentebm.training.ml_ebm import initial_states

    x = initial_states("gaussian", (2, 50000, 2), (1.0, 2.0), torch_generator(0))
    assert torch.allclose(x.std(dim=(1, 2)), torch.tensor([1.0, 2.0]), rtol=0.02)
    u = initial_states("uniform", (1, 1000, 2), 0.5, torch_generator(0))
    assert float(u.abs().max()) <= 0.5


def test_mean_standard_error_widens_for_autocorrelation():
    from latentebm.metrics.learning_diagnostics import mean_standard_error

    rng = np.random.default_rng(1)
    phi, n, runs = 0.5, 400, 2000
    x = np.zeros((n, runs))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal(runs)
    # the spread of the means over independent runs against the formula's standard error
    predicted = np.median(mean_standard_error(x, autocorrelation(x, 1)[1]))
    assert abs(predicted / x.mean(0).std() - 1) < 0.1
    assert mean_standard_error(x, 0.0).mean() < 0.65 * predicted  # without the widening: too small by sqrt(3)
