"""log Z estimators on a case with known Z: base eta = N(0, I_d) (an identity Real NVP), energy
E(x) = a |x|^2 / 2, so Z = E_eta exp(-a |x|^2 / 2) = (1 + a)^(-d/2). Unbiased in Z: the mean of Z_hat over
independent repeats is within a few standard errors of Z. Also the Langevin steps the estimators use."""

import math

import numpy as np
import pytest
import torch
from latentebm.metrics import likelihood
from latentebm.models.flows import RealNVP
from latentebm.ops import standard_normal_log_prob
from latentebm.runtime import initialised_from, torch_generator
from latentebm.samplers import langevin
from latentebm.training.ebm import EnergyOnBase

A, D = 1.5, 3
LOG_Z = -0.5 * D * math.log1p(A)


class Quadratic(torch.nn.Module):
    def forward(self, x):
        return 0.5 * A * (x**2).sum(-1)


def model() -> EnergyOnBase:
    torch.set_default_dtype(torch.float64)
    with initialised_from(torch_generator(0)):
        return EnergyOnBase(RealNVP(D, 2, 4), Quadratic())  # zero-initialised couplings: the identity map


def assert_unbiased_in_z(estimate, repeats):
    z_hat = np.exp(estimate.estimates)
    standard_error = z_hat.std(ddof=1) / math.sqrt(repeats)
    assert abs(z_hat.mean() - math.exp(LOG_Z)) < 4 * standard_error


def test_importance_sampling_is_unbiased_in_z():
    estimate = model().log_z(n=4, repeats=4000, rng=torch.Generator().manual_seed(0))
    assert_unbiased_in_z(estimate, 4000)
    assert estimate.mean < LOG_Z  # with n = 4, log Z_hat is visibly biased low (Jensen)
    assert estimate.pooled == pytest.approx(LOG_Z, abs=0.02)


def test_ais_is_unbiased_in_z_and_tighter_than_plain_importance_sampling():
    m = model()
    g = torch.Generator().manual_seed(1)
    energy_of_latent = lambda z: m.energy(m.base.generate(z)[0])  # noqa: E731
    ais = likelihood.ais_log_z(energy_of_latent, D, n=4, repeats=1000, n_temperatures=20, step_size=0.3, rng=g)
    assert_unbiased_in_z(ais, 1000)
    plain = m.log_z(n=4, repeats=1000, rng=g)
    assert ais.std < 0.5 * plain.std


def test_the_estimate_summarises_each_repeat_along_its_draws():
    """Weights (1, 3) then (2, 2): each repeat's Z_hat is 2 (log-mean-exp along the draws, not the repeats)."""
    repeats = iter(torch.log(torch.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=torch.float64)))
    estimate = likelihood.importance_log_z(lambda n, rng: next(repeats), 2, 2, torch.Generator())
    assert estimate.estimates.tolist() == pytest.approx([math.log(2.0), math.log(2.0)])
    assert estimate.pooled == pytest.approx(math.log(2.0))
    assert estimate.ess == pytest.approx((1.6 + 2.0) / 2)  # (1 + 3)^2 / (1 + 9) and (2 + 2)^2 / (4 + 4)


def test_gaussian_fit_nll_is_the_closed_form():
    rng = torch.Generator().manual_seed(0)
    train, test = torch.randn(5000, 2, generator=rng, dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64)
    # a standard normal fitted to its own sample: the NLL at 0 is log(2 pi), up to the sampling error
    assert likelihood.gaussian_fit_nll(train, test) == pytest.approx(math.log(2 * math.pi), abs=0.05)


def test_mala_samples_a_gaussian_and_ula_is_close():
    torch.set_default_dtype(torch.float64)
    potential = lambda z: 0.5 * ((z - 1.0) ** 2).sum(-1) / 0.25  # noqa: E731  N(1, 0.5^2 I)
    g = torch.Generator().manual_seed(0)
    for step, tol in ((langevin.mala_step, 0.03), (langevin.ula_step, 0.06)):
        state = langevin.init(torch.zeros(4000, 2), potential)
        for _ in range(200):
            state = step(state, potential, 0.05, g)
        assert state.z.mean().item() == pytest.approx(1.0, abs=tol)
        assert state.z.std().item() == pytest.approx(0.5, abs=tol)


def test_latent_potential_is_minus_log_posterior():
    m = model()
    z = torch.randn(5, D)
    expected = -standard_normal_log_prob(z) + 0.5 * A * (z**2).sum(-1)
    assert torch.allclose(m.latent_potential(z), expected)
