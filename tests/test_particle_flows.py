"""Particle flows (notebook 09): the witness and F in closed form, the Euler step and the descent lemma, noise
injection against diffusion, the KALE flow's MMD limit, the noise schedules and the runner's guard."""

from __future__ import annotations

import math

import pytest
import torch
from latentebm.data import toys_particles as toys
from latentebm.divergences.mmd import mmd2
from latentebm.divergences.variational import Measure
from latentebm.experiments import particle_flows as pf
from latentebm.guards import DivergenceError
from latentebm.particles import flow
from latentebm.particles import noise as schedules
from latentebm.particles import witness as W

SIGMA = 0.5


def cloud(seed: int, n: int = 40, m: int = 30, d: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = 0.7 * torch.randn(m, d, generator=g, dtype=torch.float64) + 0.5
    return x, y


@pytest.mark.parametrize("d", [1, 2, 5])
def test_witness_gradient_matches_autograd(d):
    x, y = cloud(d, d=d)
    z = torch.randn(7, d, generator=torch.Generator().manual_seed(9), dtype=torch.float64, requires_grad=True)
    expected, = torch.autograd.grad(W.witness(z, x, y, SIGMA).sum(), z)
    assert torch.allclose(W.witness_gradient(z.detach(), x, y, SIGMA), expected, atol=1e-13, rtol=0)


def test_energy_is_half_the_mmd_of_the_divergence_module_and_splits_into_its_terms():
    x, y = cloud(0)
    assert W.energy(x, y, SIGMA) == pytest.approx(0.5 * mmd2(Measure(x), Measure(y), SIGMA), abs=1e-14)
    assert sum(W.energy_terms(x, y, SIGMA).values()) == pytest.approx(W.energy(x, y, SIGMA), abs=1e-14)
    assert W.energy(x, x, SIGMA) == pytest.approx(0.0, abs=1e-14)


def test_witness_is_the_first_variation_of_f():
    """Moving mass eps from nu to a point z changes F by eps (f(z) - int f dnu) to first order."""
    x, y = cloud(1)
    z = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    eps = 1e-6
    w = torch.full((len(y),), (1 - eps) / len(y), dtype=torch.float64)
    moved = Measure(torch.cat([y, z]), torch.cat([w, torch.tensor([eps], dtype=torch.float64)]))
    change = 0.5 * mmd2(Measure(x), moved, SIGMA) - W.energy(x, y, SIGMA)
    predicted = eps * float(W.witness(z, x, y, SIGMA) - W.witness(y, x, y, SIGMA).mean())
    assert change == pytest.approx(predicted, rel=1e-4)


def test_lipschitz_constant_of_the_kernel_gradient_is_one_over_sigma_squared():
    """The largest Jacobian norm of g(r) = -r / sigma^2 exp(-|r|^2 / 2 sigma^2) over many r is 1 / sigma^2."""
    g = torch.Generator().manual_seed(3)
    r = torch.cat([torch.zeros(1, 2, dtype=torch.float64), torch.randn(500, 2, generator=g, dtype=torch.float64)])
    grad_of = lambda v: -v / SIGMA**2 * torch.exp(-v.square().sum() / (2 * SIGMA**2))  # noqa: E731
    norms = [torch.linalg.matrix_norm(torch.autograd.functional.jacobian(grad_of, v), ord=2) for v in r]
    assert max(norms) == pytest.approx(W.lipschitz_constant(SIGMA), rel=1e-12)
    assert all(n <= W.lipschitz_constant(SIGMA) * (1 + 1e-12) for n in norms)


@pytest.mark.parametrize("seed", range(5))
def test_small_euler_steps_decrease_f_by_at_least_the_lemma_bound(seed):
    x, y = cloud(seed)
    step = 0.9 * W.largest_safe_step(W.lipschitz_constant(SIGMA))
    audit = pf.descent_audit(x, y, SIGMA, step, 30)
    assert audit.violations() == 0 and audit.ascents == 0
    assert (audit.before - audit.after > 0).all()


def test_the_lemma_bound_is_violated_by_a_wrong_constant():
    """The audit can fail: tripling the guaranteed decrease at gamma L = 1/3 (the constant 3/2 replaced by -3/2, a
    bound that promises more than the step gives) reports violations; the measured constant stays below 3/2."""
    x, y = cloud(0)
    audit = pf.descent_audit(x, y, SIGMA, 0.5 * W.largest_safe_step(W.lipschitz_constant(SIGMA)), 20)
    too_much = pf.DescentAudit(audit.before, audit.after, audit.guaranteed * 3.0)
    assert too_much.violations() > 0
    step = 0.5 * W.largest_safe_step(W.lipschitz_constant(SIGMA))
    assert audit.empirical_constant(step, W.lipschitz_constant(SIGMA)) <= 1.5


def test_time_to_a_threshold_is_interpolated_in_log_f():
    path = pf.Trajectory(steps=[0, 1, 2], time=[0.0, 1.0, 2.0], energy=[1.0, 0.1, 0.01])
    assert path.time_to(10 ** -1.5) == pytest.approx(1.5)
    assert path.time_to(1.0) == 0.0 and path.time_to(1e-3) == math.inf


def test_one_particle_overshoots_above_two_over_l_k():
    x, y = torch.zeros(1, 2, dtype=torch.float64), torch.tensor([[0.01, 0.0]], dtype=torch.float64)
    L = W.lipschitz_constant(SIGMA)
    assert pf.descent_audit(x, y, SIGMA, 1.9 / L, 5).ascents == 0
    assert pf.descent_audit(x, y, SIGMA, 2.2 / L, 5).ascents == 5


def test_dissipation_ratio_tends_to_one_at_first_order():
    x, y = cloud(2)
    errors = [abs(pf.dissipation_ratio(x, y, SIGMA, h) - 1) for h in (1e-2, 1e-3, 1e-4)]
    assert errors[2] < 1e-3
    assert errors[0] / errors[1] == pytest.approx(10, rel=0.1) and errors[1] / errors[2] == pytest.approx(10, rel=0.1)


def test_noise_injection_reads_the_gradient_at_perturbed_points_of_a_clean_witness():
    x, y = cloud(4)
    rule = flow.MMDFlow(x, SIGMA, schedules.constant(0.3))
    moved = flow.step(flow.init(y), rule, 0.01, torch.Generator().manual_seed(5))
    u = torch.randn(y.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    expected = y - 0.01 * W.witness_gradient(y + 0.3 * u, x, y, SIGMA)  # witness of the clean particles y
    assert torch.allclose(moved.y, expected, atol=1e-15)
    wrong = y - 0.01 * W.witness_gradient(y + 0.3 * u, x, y + 0.3 * u, SIGMA)  # witness of the noisy particles
    assert not torch.allclose(moved.y, wrong, atol=1e-6)


def test_diffusion_puts_the_noise_into_the_particles():
    x, y = cloud(4)
    noisy = flow.step(flow.init(y), flow.MMDFlow(x, SIGMA, schedules.constant(0.3), "diffusion"), 0.01,
                      torch.Generator().manual_seed(5))
    plain = flow.step(flow.init(y), flow.MMDFlow(x, SIGMA), 0.01)
    u = torch.randn(y.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert torch.allclose(noisy.y - plain.y, math.sqrt(2 * 0.01) * 0.3 * u, atol=1e-15)


def test_zero_noise_makes_every_variant_the_plain_flow():
    x, y = cloud(6)
    plain = flow.step(flow.init(y), flow.MMDFlow(x, SIGMA), 0.02).y
    for mode in flow.MODES:
        for noise in (schedules.none(), schedules.constant(0.0)):
            assert torch.equal(flow.step(flow.init(y), flow.MMDFlow(x, SIGMA, noise, mode), 0.02,
                                         torch.Generator().manual_seed(0)).y, plain)
    with pytest.raises(ValueError, match="explicit torch.Generator"):
        flow.step(flow.init(y), flow.MMDFlow(x, SIGMA, schedules.constant(0.1)), 0.02)


def test_kale_velocity_tends_to_the_mmd_velocity_as_the_penalty_grows():
    x, y = cloud(7)
    mmd = -W.witness_gradient(y, x, y, SIGMA)
    gaps = [float((flow.KALEFlow(x, SIGMA, lam).velocity(y)[0] - mmd).abs().max()) for lam in (1e2, 1e4)]
    assert gaps[1] < 1e-3 * float(mmd.abs().max())
    assert gaps[1] < gaps[0] / 50  # the gap shrinks like 1 / lambda


def test_kale_velocity_matches_a_finite_difference_of_the_divergence():
    """Moving one particle by eps along v changes (1 + lambda) KALE by eps <grad_y of the first variation, v> / m."""
    from latentebm.divergences.kale_rkhs import kale_smoothie
    x, y = cloud(8, n=25, m=20)
    lam = 0.1
    velocity, _ = flow.KALEFlow(x, SIGMA, lam).velocity(y)
    j, eps = 3, 1e-6
    direction = torch.zeros_like(y)
    direction[j] = velocity[j] / velocity[j].norm()
    value = lambda pts: kale_smoothie(Measure(x), Measure(pts), lam, SIGMA, tol=1e-20).value  # noqa: E731
    slope = (value(y + eps * direction) - value(y - eps * direction)) / (2 * eps)
    assert slope == pytest.approx(-float(velocity[j].norm()) / len(y), rel=1e-4)


def test_kale_warm_start_reaches_the_same_velocity():
    x, y = cloud(9)
    rule = flow.KALEFlow(x, SIGMA, 0.01)
    cold, alpha = rule.velocity(y)
    warm, _ = rule.velocity(y, alpha * 1.5)
    assert torch.allclose(cold, warm, atol=1e-8)
    with pytest.raises(ValueError, match="positive coefficients"):
        rule.velocity(y, -alpha)
    state = flow.step(flow.init(y), rule, 1e-3)
    assert state.alpha is not None and state.n_steps == 1 and state.time == pytest.approx(1e-3)


def test_noise_schedules():
    assert schedules.constant(0.2)(10**6) == 0.2 and not schedules.constant(0.2).square_summable
    inv = schedules.inverse_sqrt(1.0, 4.0)
    assert inv(0) == 1.0 and inv(12) == pytest.approx(0.5) and not inv.square_summable
    assert inv.sum_squares(400) == pytest.approx(sum(1 / (1 + n / 4) for n in range(400)))
    halving = schedules.halving(1.0, 10)
    assert halving(9) == 1.0 and halving(10) == 0.5 and halving(25) == 0.25 and halving.square_summable
    assert halving.sum_squares(10**4) == pytest.approx(10 * 4 / 3, rel=1e-9)
    assert schedules.none()(5) == 0.0
    with pytest.raises(ValueError, match="kind"):
        schedules.NoiseSchedule("linear", 1.0)
    with pytest.raises(ValueError, match="beta0"):
        schedules.constant(-1.0)


def test_ring_toys_and_occupancy():
    setup = pf.RingsSetup()
    x = setup.target(torch.Generator().manual_seed(0))
    assert x.shape == (setup.n_rings * setup.n_per_ring, 2)
    share, rings = setup.occupancy(x)
    assert share == 1.0 and rings == pytest.approx([1 / 3] * 3)
    assert torch.allclose(toys.ring_distances(x, setup.centres, setup.radius).min(dim=1).values,
                          torch.zeros(len(x), dtype=torch.float64), atol=1e-12)
    far = setup.particles(torch.Generator().manual_seed(1))
    assert setup.occupancy(far)[0] == 0.0 and toys.stranded(far, x, 0.3).double().mean() > 0.9


def test_runner_records_and_guards():
    x, y = cloud(10)
    path = pf.run(y, flow.MMDFlow(x, SIGMA), 0.05, 40, record_every=10)
    assert path.steps == [0, 10, 20, 30, 40] and path.final.n_steps == 40
    assert all(a > b for a, b in zip(path.energy, path.energy[1:], strict=False))
    early = pf.run(y, flow.MMDFlow(x, SIGMA), 0.05, 40, record_every=1, until=lambda e: e < path.energy[2])
    assert early.final.n_steps < 40
    bad = y.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(DivergenceError, match="F is nan"):
        pf.run(bad, flow.MMDFlow(x, SIGMA), 0.05, 5)
