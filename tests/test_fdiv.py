"""f-divergences: conjugates against numerical suprema, Gaussian closed forms against quadrature."""

import math

import pytest
import torch
from latentebm.divergences import fdiv
from latentebm.divergences import gaussian as gauss

SLOPES = {"kl": (-3.0, 3.0), "reverse_kl": (-5.0, -0.05), "jensen_shannon": (-3.0, 0.3),
          "pearson": (-4.0, 6.0), "squared_hellinger": (-5.0, 0.7), "total_variation": (-1.5, 0.5)}


@pytest.mark.parametrize("name", sorted(fdiv.DIVERGENCES))
def test_conjugate_matches_numerical_sup(name):
    div = fdiv.get(name)
    v = torch.linspace(*SLOPES[name], 21, dtype=torch.float64)
    numerical = fdiv.numerical_conjugate(div.phi, v, u_max=60.0, n_grid=4001)
    torch.testing.assert_close(numerical, div.conjugate(v), atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", sorted(fdiv.DIVERGENCES))
def test_phi_is_normalised_and_convex(name):
    div = fdiv.get(name)
    u = torch.linspace(1e-3, 8.0, 801, dtype=torch.float64)
    values = div.phi(u)
    assert abs(div.phi(torch.tensor(1.0, dtype=torch.float64)).item()) < 1e-15
    assert (values[2:] - 2 * values[1:-1] + values[:-2]).min() > -1e-12


@pytest.mark.parametrize("name", sorted(fdiv.DIVERGENCES))
def test_stable_conjugate_of_activation_agrees(name):
    div = fdiv.get(name)
    t = torch.linspace(-6.0, 6.0, 121, dtype=torch.float64)
    torch.testing.assert_close(div.conjugate_of_activation(t), div.conjugate(div.activation(t)),
                               atol=1e-9, rtol=1e-9)
    assert torch.all(div.activation(t) <= div.domain[1])


def test_conjugate_is_infinite_outside_its_domain():
    assert fdiv.get("reverse_kl").conjugate(torch.tensor([0.5])).isinf().all()
    assert fdiv.get("total_variation").conjugate(torch.tensor([0.6])).isinf().all()
    assert fdiv.get("squared_hellinger").conjugate(torch.tensor([1.0])).isinf().all()


def test_biconjugate_recovers_phi_for_kl():
    kl = fdiv.get("kl")
    x = torch.linspace(0.1, 4.0, 9, dtype=torch.float64)
    torch.testing.assert_close(fdiv.numerical_biconjugate(kl.conjugate, x, -20.0, 5.0, 4001), kl.phi(x),
                               atol=1e-10, rtol=0)


def test_tangent_intercept_is_minus_conjugate():
    kl = fdiv.get("kl")
    slope, intercept = fdiv.tangent_intercept(kl.phi, kl.phi_prime, torch.tensor([0.5, 2.0], dtype=torch.float64))
    torch.testing.assert_close(intercept, -kl.conjugate(slope))


PAIRS = [(gauss.Gaussian1D(1.0, 0.7), gauss.Gaussian1D(0.0, 1.0)),
         (gauss.Gaussian1D(-0.5, 1.0), gauss.Gaussian1D(0.5, 1.0))]


@pytest.mark.parametrize("name", ["kl", "reverse_kl", "pearson", "squared_hellinger", "total_variation"])
@pytest.mark.parametrize("pair", PAIRS)
def test_closed_forms_match_quadrature(name, pair):
    p, q = pair
    closed = gauss.closed_form(name, p, q)
    if closed is None:
        pytest.skip("no closed form for this pair")
    quadrature = gauss.by_quadrature(name, p.log_prob, q.log_prob, gauss.quadrature_grid(p, q))
    # |p - q| has a kink where the densities cross, so the trapezoid rule is less accurate there
    assert quadrature == pytest.approx(closed, rel=1e-6 if name == "total_variation" else 1e-9)


def test_js_is_bounded_by_log2_and_zero_for_equal():
    p = gauss.Gaussian1D(0.0, 1.0)
    grid = gauss.quadrature_grid(p, p)
    assert gauss.by_quadrature("jensen_shannon", p.log_prob, p.log_prob, grid) == pytest.approx(0.0, abs=1e-14)
    far = gauss.Gaussian1D(40.0, 1.0)
    value = gauss.by_quadrature("jensen_shannon", p.log_prob, far.log_prob, gauss.quadrature_grid(p, far, 80001))
    assert value == pytest.approx(math.log(2.0), rel=1e-6)


def test_pearson_infinite_when_q_too_narrow():
    assert math.isinf(gauss.pearson(gauss.Gaussian1D(0, 2.0), gauss.Gaussian1D(0, 1.0)))
