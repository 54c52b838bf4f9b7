"""GEBM: gradient theorem against closed forms, c* = log Z, checkpoint resume, the divergence guard, the
Fréchet distance and the minimal latent Langevin sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from latentebm.divergences import gebm_gaussian as closed
from latentebm.divergences.variational import kale_bound
from latentebm.guards import DivergenceError
from latentebm.metrics.frechet import frechet_distance, gaussian_frechet
from latentebm.models.energies import MLPEnergy, QuadraticEnergy
from latentebm.models.gebm import build_gebm
from latentebm.models.generators import MLPGenerator, ShiftGenerator, fit_gaussian_base
from latentebm.models.store import load_model, save_model
from latentebm.ops import log_mean_exp
from latentebm.runtime import torch_generator
from latentebm.samplers import langevin
from latentebm.samplers.potentials import gebm_latent_potential
from latentebm.training.gebm import (
    GEBMTrainConfig,
    importance_weighted_gradient,
    refit_energy,
    solve_inner_kale,
    train_gebm,
)
from latentebm.training.loop import CheckpointError


def test_importance_weighted_gradient_matches_closed_form():
    mu, theta = torch.tensor([1.0, -0.5, 0.3], dtype=torch.float64), torch.tensor([0.2, 0.4, -0.1],
                                                                                  dtype=torch.float64)
    generator = ShiftGenerator(theta)
    energy = QuadraticEnergy(3).double()
    with torch.no_grad():
        energy.w.copy_(mu - theta)  # E* = -(mu - theta).x, the exact inner maximiser
    rng = torch.Generator().manual_seed(0)
    estimates = torch.stack([importance_weighted_gradient(generator, energy, torch.randn(2000, 3, generator=rng,
                                                                                        dtype=torch.float64))[0]
                             for _ in range(20)])
    exact = torch.as_tensor(closed.kale_gradient(mu.numpy(), theta.numpy()))
    # the linear energy's gradient is constant, so every weighted average equals -w* exactly
    assert torch.allclose(estimates, exact.expand_as(estimates), atol=1e-12)


def test_closed_form_inner_problem_is_kl_and_c_is_log_z():
    mu, theta, sigma = np.array([1.0, -0.5, 0.3]), np.array([0.2, 0.4, -0.1]), 0.8
    value, solution = closed.solve_kale(mu, sigma, theta)
    w, a, c = closed.optimal_energy(mu, sigma, theta)
    assert value == pytest.approx(closed.kl(mu, sigma, theta), abs=1e-9)
    assert np.allclose(solution, np.r_[w, a, c], atol=1e-5)
    assert c == pytest.approx(closed.log_partition(w, a, theta), abs=1e-12)
    # the quadratic energy's tilt of the base is P, so the estimator is a self-normalised IS estimate of E_P
    generator, energy = ShiftGenerator(torch.as_tensor(theta)), QuadraticEnergy(3, train_curvature=True).double()
    with torch.no_grad():
        energy.w.copy_(torch.as_tensor(w))
        energy.curvature.fill_(a)
    z = torch.randn(200000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (estimate,) = importance_weighted_gradient(generator, energy, z)
    assert np.allclose(estimate.numpy(), closed.kale_gradient(mu, theta), atol=0.02)


def test_importance_weighted_gradient_nonlinear_is_gradient_of_log_mean_exp():
    torch.manual_seed(0)
    generator = MLPGenerator(2, (2,), hidden=8).double()
    energy = MLPEnergy(2, hidden=8).double()
    z = torch.randn(64, 2, dtype=torch.float64)
    estimate = importance_weighted_gradient(generator, energy, z)
    target = torch.autograd.grad(-log_mean_exp(-energy(generator(z))), list(generator.parameters()))
    for a, b in zip(estimate, target, strict=True):
        assert torch.allclose(a, b, atol=1e-12)


def test_joint_maximum_gives_c_equal_log_z():
    mu, theta = np.array([0.7, -0.2]), np.array([0.0, 0.3])
    x_data = torch.randn(4000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + torch.tensor(mu)
    x_model = torch.randn(4000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) + torch.tensor(
        theta)
    energy = QuadraticEnergy(2).double()
    value, c_star = solve_inner_kale(energy, x_data, x_model)
    w = energy.w.detach().numpy()
    # on the samples, c* is exactly the log-mean-exp; in population it is log Z(w) = w.theta + |w|^2/2
    assert c_star == pytest.approx(float(log_mean_exp(-energy(x_model).detach())), abs=1e-10)
    assert c_star == pytest.approx(closed.log_partition(w, 0.0, theta), abs=0.05)
    assert value == pytest.approx(closed.kl(mu, 1.0, theta), abs=0.05)
    # and at a fixed energy, maximising F over c alone lands on log mean exp(-E)
    e_model = energy(x_model).detach()
    grid = torch.linspace(c_star - 1, c_star + 1, 2001, dtype=torch.float64)
    values = torch.stack([kale_bound(torch.zeros(1, dtype=torch.float64), e_model, g) for g in grid])
    assert float(grid[values.argmax()]) == pytest.approx(c_star, abs=1e-3)


def _toy_run(steps, checkpoint_path=None, checkpoint_every=0):
    torch.manual_seed(3)
    generator, energy = MLPGenerator(2, (2,), hidden=16), MLPEnergy(2, hidden=16, spectral=True)
    data = torch.randn(256, 2, generator=torch.Generator().manual_seed(4))
    config = GEBMTrainConfig(steps=steps, latent_dim=2, batch_size=32, energy_steps=2, warmup_energy_steps=4,
                             warmup_every=3, gp_weight=0.5, lr_decay=0.5, lr_decay_every=2,
                             checkpoint_every=checkpoint_every)
    run = train_gebm(generator, energy, data, config, rng=torch_generator(5), checkpoint_path=checkpoint_path)
    return generator, energy, run


def test_checkpoint_resume_gives_identical_parameters(tmp_path):
    generator_a, energy_a, run_a = _toy_run(6)
    path = tmp_path / "gebm.pt"
    _toy_run(3, path, checkpoint_every=3)
    generator_b, energy_b, run_b = _toy_run(6, path, checkpoint_every=3)
    assert run_b.resumed_from == 3
    for a, b in zip(list(generator_a.state_dict().values()) + list(energy_a.state_dict().values()),
                    list(generator_b.state_dict().values()) + list(energy_b.state_dict().values()), strict=True):
        assert torch.equal(a, b)
    assert run_a.history["kale"] == run_b.history["kale"]
    assert run_a.c == run_b.c


def test_checkpoint_of_another_config_is_refused(tmp_path):
    path = tmp_path / "gebm.pt"
    _toy_run(3, path, checkpoint_every=3)
    generator, energy = MLPGenerator(2, (2,), hidden=16), MLPEnergy(2, hidden=16, spectral=True)
    config = GEBMTrainConfig(steps=6, latent_dim=2, batch_size=32, energy_steps=2, warmup_energy_steps=4,
                             warmup_every=3, gp_weight=0.1, lr_decay=0.5, lr_decay_every=2, checkpoint_every=3)
    with pytest.raises(CheckpointError, match="gp_weight: 0.5 -> 0.1"):
        train_gebm(generator, energy, torch.randn(256, 2), config, rng=torch_generator(5), checkpoint_path=path)


class _NaNEnergy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return self.scale * x.sum(-1) * math.nan


def test_divergence_guard_fires_on_nan():
    config = GEBMTrainConfig(steps=3, latent_dim=2, batch_size=8, energy_steps=1, warmup_energy_steps=1)
    with pytest.raises(DivergenceError, match="step 1"):
        train_gebm(MLPGenerator(2, (2,)), _NaNEnergy(), torch.randn(16, 2), config, rng=torch_generator(0))


def test_divergence_guard_fires_on_runaway_energy():
    config = GEBMTrainConfig(steps=50, latent_dim=2, batch_size=8, energy_steps=1, warmup_energy_steps=1,
                             lr_energy=1.0, energy_limit=5.0)
    data = torch.zeros(16, 2) + 10.0  # far from the base: an unpenalised linear energy runs away
    with pytest.raises(DivergenceError, match="exceeds"):
        train_gebm(ShiftGenerator(torch.zeros(2)), QuadraticEnergy(2), data, config, rng=torch_generator(0))


def test_build_gebm_round_trip(tmp_path):
    config = {"latent_dim": 4, "data_shape": [1, 14, 14], "base_output": "tanh", "energy_spectral": True,
              "energy_floor": -10.0}
    modules = build_gebm(config)
    save_model(tmp_path, "gebm", modules, config)
    loaded, saved_config = load_model(tmp_path, "gebm", build_gebm)
    z = torch.randn(3, 4)
    loaded["energy"].eval()
    modules["energy"].eval()
    assert saved_config["latent_dim"] == 4
    assert torch.equal(loaded["base"](z), modules["base"](z))
    x = modules["base"](z)
    assert torch.allclose(loaded["energy"](x), modules["energy"](x))
    assert bool((modules["energy"](x) > -10.0).all())


def test_frechet_distance_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0]), np.array([1.0, -1.0])
    cov_a, cov_b = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    exact = 1.0 + 4.0 + (1.0 - 3.0) ** 2 + (2.0 - 1.0) ** 2
    assert gaussian_frechet(mu_a, cov_a, mu_b, cov_b) == pytest.approx(exact, rel=1e-10)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 2)) * np.sqrt([1.0, 4.0]) + mu_a
    b = rng.normal(size=(20000, 2)) * np.sqrt([9.0, 1.0]) + mu_b
    assert frechet_distance(a, b) == pytest.approx(exact, rel=0.03)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_latent_langevin_samples_the_prior_when_energy_is_constant():
    generator, energy = ShiftGenerator(torch.zeros(2)), QuadraticEnergy(2)  # w = 0: E = 0, target = N(0, I)
    potential = gebm_latent_potential(generator, energy)
    rng = torch.Generator().manual_seed(0)
    state = langevin.init(torch.full((4000, 2), 3.0), potential)
    for _ in range(200):
        state = langevin.ula_step(state, potential, 0.05, rng)
    # ULA with step s on N(0, 1) has stationary variance 1 / (1 - s/2); standard errors here ~0.016 and ~0.023
    assert state.z.mean(0).abs().max() < 0.07
    assert state.z.var(0).sub(1 / (1 - 0.025)).abs().max() < 0.1


def test_c_alone_ascends_to_log_z_with_its_own_learning_rate():
    # energy frozen (lr 0) and E(x) = -x.w with w = (1, 0): under the base N(theta, I), log Z = w.theta + |w|^2/2
    theta = torch.tensor([0.5, -1.0])
    energy = QuadraticEnergy(2)
    with torch.no_grad():
        energy.w.copy_(torch.tensor([1.0, 0.0]))
    config = GEBMTrainConfig(steps=400, latent_dim=2, batch_size=512, energy_steps=1, warmup_energy_steps=1,
                             lr_energy=0.0, lr_log_partition=0.05, train_base=False, c_init_samples=2)
    run = train_gebm(ShiftGenerator(theta), energy, torch.zeros(8, 2), config, rng=torch_generator(0))
    assert torch.equal(energy.w.detach(), torch.tensor([1.0, 0.0]))
    assert run.c == pytest.approx(0.5 + 0.5, abs=0.08)


def test_refit_energy_moves_the_energy_only_and_restores_the_base():
    torch.manual_seed(0)
    generator, energy = MLPGenerator(2, (2,), hidden=8), MLPEnergy(2, hidden=8)
    before_g = [p.detach().clone() for p in generator.parameters()]
    before_e = [p.detach().clone() for p in energy.parameters()]
    config = GEBMTrainConfig(steps=1, latent_dim=2, batch_size=16, energy_steps=2, lr_energy=1e-2)
    run = refit_energy(generator, energy, torch.randn(64, 2) + 2.0, config, steps=5, gp_weight=0.01,
                       rng=torch_generator(0))
    assert len(run.steps) == 5
    assert all(torch.equal(a, b) for a, b in zip(before_g, generator.parameters(), strict=True))
    assert all(p.requires_grad for p in generator.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(before_e, energy.parameters(), strict=True))


def test_gaussian_base_has_the_data_moments_and_an_ebm_trains_on_it():
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 2, generator=rng) @ torch.tensor([[2.0, 0.0], [1.0, 0.5]]).T + torch.tensor([1.0, -3.0])
    base = fit_gaussian_base(x)
    samples = base(torch.randn(200000, 2, generator=rng))
    assert torch.allclose(samples.mean(0), x.mean(0), atol=0.02)
    assert torch.allclose(torch.cov(samples.T), torch.cov(x.T), atol=0.03)
    assert list(base.parameters()) == []
    config = GEBMTrainConfig(steps=5, latent_dim=2, batch_size=32, energy_steps=1, train_base=False)
    run = train_gebm(base, MLPEnergy(2, hidden=8), x, config, rng=torch_generator(0))
    assert len(run.steps) == 5 and math.isfinite(run.c)


def test_feature_classifier_depends_only_on_its_stream():
    from latentebm.metrics.frechet import train_classifier

    images = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(1))
    config = {"channels": 1, "n_classes": 10, "width": 4, "feature_dim": 8}
    torch.manual_seed(123)
    a = train_classifier(images, labels, config, 3, torch.Generator().manual_seed(7), batch_size=16)
    torch.manual_seed(456)
    torch.randn(10)
    state = torch.random.get_rng_state()
    b = train_classifier(images, labels, config, 3, torch.Generator().manual_seed(7), batch_size=16)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q)
