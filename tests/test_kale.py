"""KALE estimators: the smoothie's duality gap and limits, closed-form cases, KALE(P, P) ~ 0, asymmetry, zero-weight
nodes and failed solves."""

import math
import warnings

import pytest
import torch
from latentebm.data import toys_kale
from latentebm.divergences import gaussian as gauss
from latentebm.divergences import kale_rkhs
from latentebm.divergences.kale import lipschitz_kale, neural_kale, penalised_kl_dual, weight_norm2
from latentebm.divergences.kale_rkhs import Smoothie, SolverError, kale_smoothie
from latentebm.divergences.mmd import mmd2, mmd2_gaussian, mmd2_unbiased
from latentebm.divergences.variational import Measure, kl_dual
from latentebm.guards import DivergenceError
from latentebm.models.critics import LinearCritic, MLPCritic, QuadraticCritic
from latentebm.ops import lipschitz_estimate
from latentebm.runtime import initialised_from, streams

P, Q = gauss.Gaussian1D(0.0, 1.0), gauss.Gaussian1D(1.0, 0.6)


@pytest.fixture(autouse=True)
def float64_one_thread():
    """Small problems: one thread avoids oversubscribing a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def grid_measures(p=P, q=Q, n=300):
    grid = torch.linspace(-8.0, 8.0, n)
    return Measure.from_density(grid, p.log_prob), Measure.from_density(grid, q.log_prob)


def samples(n, seed, p=P, q=Q):
    rng = torch.Generator().manual_seed(seed)
    return Measure(p.sample(n, rng)), Measure(q.sample(n, rng))


@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
def test_smoothie_converges_with_zero_duality_gap(lam):
    p, q = samples(200, 0)
    result = kale_smoothie(p, q, lam)
    assert result.record.converged
    assert abs(result.record.duality_gap) < 1e-9
    assert result.penalised == pytest.approx(result.kale - 0.5 * lam * result.rkhs_norm2, abs=1e-12)


def test_smoothie_optimum_satisfies_alpha_equals_v_exp_minus_f():
    p, q = samples(150, 1)
    result = kale_smoothie(p, q, 0.3)
    f_y = result.critic(q.points)
    assert torch.allclose(result.critic.alpha, torch.exp(-f_y) / 150, rtol=1e-8, atol=1e-12)


def test_smoothie_is_a_maximum_against_perturbed_critics():
    """J(f_alpha + eps g) < J(f_alpha) for g a kernel bump: the solver's critic is the penalised maximiser."""
    p, q = samples(100, 2)
    lam = 0.5
    result = kale_smoothie(p, q, lam)
    c = result.critic
    for direction in (1.0, -1.0):
        alpha = c.alpha.clone()
        alpha[:10] += direction * 1e-3 * lam  # f changes by 1e-3 * sum of 10 kernel bumps
        moved = type(c)(c.x, c.w, c.y, alpha, lam, c.bandwidth)
        f_x, f_y = moved(p.points), moved(q.points)
        k_yy = torch.exp(-torch.cdist(q.points, q.points).square() / 2)
        k_yx = torch.exp(-torch.cdist(q.points, p.points).square() / 2)
        k_xx = torch.exp(-torch.cdist(p.points, p.points).square() / 2)
        norm2 = (alpha @ k_yy @ alpha - 2 * alpha @ k_yx @ c.w + c.w @ k_xx @ c.w) / lam**2
        j = -f_x.mean() - torch.exp(-f_y).mean() + 1 - 0.5 * lam * norm2
        assert j.item() < result.penalised


def test_smoothie_small_penalty_approaches_kl_on_a_grid():
    p, q = grid_measures()
    assert kale_smoothie(p, q, 1e-4).value == pytest.approx(gauss.kl(P, Q), rel=0.03)


def test_smoothie_large_penalty_approaches_half_mmd2():
    p, q = grid_measures()
    assert kale_smoothie(p, q, 1e4).value == pytest.approx(0.5 * mmd2(p, q), rel=1e-3)
    assert mmd2(p, q) == pytest.approx(mmd2_gaussian(P, Q), rel=1e-6)


def test_smoothie_is_not_symmetric():
    p, q = grid_measures()
    forward, backward = kale_smoothie(p, q, 0.1).value, kale_smoothie(q, p, 0.1).value
    assert abs(forward - backward) > 0.1 * max(forward, backward)


def test_smoothie_falls_back_with_a_message_when_newton_is_cut_short():
    p, q = samples(100, 3)
    with pytest.warns(RuntimeWarning, match="fell back to L-BFGS"):
        result = kale_smoothie(p, q, 0.1, max_iter=1)
    reference = kale_smoothie(p, q, 0.1)
    assert "did not reach" in result.record.message
    assert result.record.duality_gap < 1e-6
    assert result.penalised == pytest.approx(reference.penalised, rel=1e-5)


def test_smoothie_drops_zero_weight_nodes():
    """Quadrature nodes where N(1, 0.1^2) underflows get weight exactly 0; the solve must equal the one without
    them, in either direction (with them as Q it used to return a negative value with only a warning)."""
    grid = torch.linspace(-10.0, 10.0, 101)
    p = Measure.from_density(grid, P.log_prob)
    narrow = Measure.from_density(grid, gauss.Gaussian1D(1.0, 0.1).log_prob)
    assert int((narrow.weights == 0).sum()) > 0
    keep = narrow.weights > 0
    dropped = Measure(narrow.points[keep], narrow.weights[keep])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback either: the dropped problem is as easy as any
        as_q, as_q_dropped = kale_smoothie(p, narrow, 0.1).value, kale_smoothie(p, dropped, 0.1).value
        as_p, as_p_dropped = kale_smoothie(narrow, p, 0.1).value, kale_smoothie(dropped, p, 0.1).value
    assert as_q > 0
    assert as_q == pytest.approx(as_q_dropped, rel=1e-12)
    assert as_p == pytest.approx(as_p_dropped, rel=1e-12)


def test_measure_positive_refuses_bad_weights():
    points = torch.zeros(3, 1)
    with pytest.raises(ValueError, match="non-negative"):
        Measure(points, torch.tensor([0.5, 0.7, -0.2])).positive()
    with pytest.raises(ValueError, match="positive weight"):
        Measure(points, torch.zeros(3)).positive()
    with pytest.raises(ValueError, match="finite"):
        kale_smoothie(Measure(torch.tensor([[0.0], [math.nan]])), Measure(points), 0.1)


def test_failed_smoothie_solve_raises_instead_of_returning_a_number(monkeypatch):
    """Newton cut short after one iteration and a fallback that makes no progress: the gap stays far above
    gap_tol, and the solve must raise rather than return the uncertified value."""
    p, q = samples(100, 3)
    monkeypatch.setattr(kale_rkhs, "_lbfgs_fallback", lambda problem, alpha, record: alpha)
    with pytest.raises(SolverError, match="gap_tol"):
        kale_smoothie(p, q, 0.1, max_iter=1)


def test_non_finite_duality_gap_is_a_failure_not_a_pass(monkeypatch):
    p, q = samples(40, 8)
    monkeypatch.setattr(kale_rkhs, "_lbfgs_fallback", lambda problem, alpha, record: torch.full_like(alpha, math.nan))
    with pytest.raises(SolverError, match="nan"):
        kale_smoothie(p, q, 0.1, max_iter=1)


def test_smoothie_wrapper_keeps_every_duality_gap():
    p, q = samples(100, 4)
    smoothie = Smoothie(bandwidth=0.5, penalty=0.1)
    first = smoothie(p, q)
    second = smoothie.of_samples(q.points, p.points, lam=1.0)
    assert first.value == kale_smoothie(p, q, 0.1, 0.5).value
    assert second == kale_smoothie(q, p, 1.0, 0.5).value
    assert len(smoothie.gaps) == 2
    assert smoothie.max_gap == max(abs(g) for g in smoothie.gaps) < 1e-8
    with pytest.raises(ValueError, match="penalty"):
        Smoothie(bandwidth=0.5)(p, q)


def test_smoothie_of_p_with_itself_vanishes_and_shrinks_with_n():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, _ = grid_measures()
        assert abs(kale_smoothie(p, p, 0.1).value) < 1e-10
        small = [kale_smoothie(*samples(50, s, P, P), 0.1).value for s in range(10)]
        large = [kale_smoothie(*samples(800, s, P, P), 0.1).value for s in range(10)]
    assert min(small + large) >= 0.0
    assert sum(large) < 0.25 * sum(small)


def test_mmd_unbiased_estimate_is_centred_on_closed_form():
    estimates = torch.tensor([mmd2_unbiased(*(m.points for m in samples(200, s)), 1.0) for s in range(100)])
    se = estimates.std().item() / 10
    assert abs(estimates.mean().item() - mmd2_gaussian(P, Q)) < 4 * se


def test_quadratic_critic_kale_equals_gaussian_kl_within_error():
    """Narrow P against wide Q, so that p/q is square-integrable under Q and the estimator's variance finite."""
    values = [neural_kale(*samples(2000, s, Q, P), QuadraticCritic(1), steps=200).value for s in range(5)]
    assert sum(values) / 5 == pytest.approx(gauss.kl(Q, P), abs=0.05)


def test_linear_critic_kale_equals_kl_for_equal_variances():
    a, b = gauss.Gaussian1D(0.0, 1.0), gauss.Gaussian1D(1.2, 1.0)
    p, q = grid_measures(a, b, n=2001)
    assert neural_kale(p, q, LinearCritic(1), steps=100).value == pytest.approx(gauss.kl(a, b), rel=1e-6)


@pytest.mark.parametrize("t", [0.25, 1.0])
def test_lipschitz_kale_of_two_point_masses_is_l_t(t):
    lipschitz = 2.0
    x_p, x_q = toys_kale.point_mass(8, [0.0]), toys_kale.point_mass(8, [t])
    result = lipschitz_kale(Measure(x_p), Measure(x_q), lipschitz, streams(0).child("critic"), steps=200,
                            hidden=16, lr=2e-2)
    assert result.value == pytest.approx(lipschitz * t, rel=0.05)
    assert result.value <= lipschitz * t * (1 + 1e-3)
    assert lipschitz_estimate(result.critic, torch.linspace(-1, 2, 50).unsqueeze(-1)) <= lipschitz * 1.01
    assert 0.0 < result.max_slope <= lipschitz * 1.01


def test_lipschitz_kale_is_reproducible_from_its_stream_and_leaves_the_global_stream_alone():
    p, q = samples(50, 6)
    state = torch.random.get_rng_state()
    first = lipschitz_kale(p, q, 1.0, streams(3).child("critic"), steps=20)
    again = lipschitz_kale(p, q, 1.0, streams(3).child("critic"), steps=20)
    other = lipschitz_kale(p, q, 1.0, streams(3).child("critic", 1), steps=20)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert first.value == again.value
    assert first.value != other.value


def test_penalised_kl_dual_is_kl_dual_minus_half_penalty_times_weight_norm():
    p, q = samples(30, 7)
    with initialised_from(streams(0).child("critic")):
        critic = MLPCritic(1, 8, 2)
    expected = kl_dual(critic, p, q) - 0.5 * 0.3 * weight_norm2(critic)
    assert penalised_kl_dual(critic, p, q, 0.3).item() == pytest.approx(expected.item(), rel=1e-14)
    assert penalised_kl_dual(critic, p, q).item() == kl_dual(critic, p, q).item()


def test_norm_penalty_shrinks_the_critic_and_the_value():
    p, q = samples(200, 5, Q, P)
    with initialised_from(streams(0).child("critic")):
        free = neural_kale(p, q, MLPCritic(1, 16, 2), steps=100)
    with initialised_from(streams(0).child("critic")):
        penalised = neural_kale(p, q, MLPCritic(1, 16, 2), steps=100, penalty=0.01)
    assert 0.0 < penalised.value
    assert penalised.value < free.value


def test_non_finite_fit_stops_with_a_clear_message():
    p, q = Measure(torch.zeros(4, 1)), Measure(torch.ones(4, 1))
    critic = LinearCritic(1)
    with torch.no_grad():
        critic.linear.bias.fill_(math.nan)
    with pytest.raises(DivergenceError, match="objective is nan"):
        neural_kale(p, q, critic, steps=5, optimiser="adam")


def test_circle_toy_lies_on_its_circle():
    x = toys_kale.circle(100, 1.5, torch.Generator().manual_seed(0), arc=(0.0, math.pi))
    assert torch.allclose(x.norm(dim=1), torch.full((100,), 1.5))
    assert bool((x[:, 1] >= 0).all())
