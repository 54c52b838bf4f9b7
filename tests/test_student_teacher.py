"""Student-teacher MMD flow: the mean-field student's particles are independent (the dense one's are not), noise
injection reads the gradient at perturbed particles with the clean witness while diffusion moves the particles,
beta = 0 makes the variants one computation, the mean-field time scaling (N x autograd of the batch loss), the MMD
identity, training that lowers the validation loss, the NaN guard and the random streams."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from latentebm.guards import DivergenceError
from latentebm.particles import student_teacher as st
from latentebm.particles.noise import NoiseSchedule, constant, halving
from latentebm.runtime import streams, torch_generator

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Tensors of a few thousand numbers: extra threads only contend on a shared CPU (restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny(n_particles: int = 6, hidden: int = 3, dim: int = 5, seed: int = 0, dense: bool = False, std: float = 1.0):
    """(student, teacher, z) in float64: a small student, a one-particle teacher, 40 inputs on the sphere."""
    rng = torch_generator(seed)
    t = st.teacher(dim, hidden, rng, dtype=F64)
    build = st.dense_student if dense else st.mean_field_student
    s = build(n_particles, hidden, dim, rng, std=std, dtype=F64)
    z = st.sphere(40, dim, rng, t.W)
    return s, t, z


def small_recipe(**changes) -> st.StudentTeacherRecipe:
    base = st.StudentTeacherRecipe(dim=5, n_particles=50, steps=200, n_train=None, n_validation=500, eval_every=50,
                                   lr=3.0, noise=NoiseSchedule())
    return replace(base, **changes)


def test_inputs_lie_on_the_unit_sphere_and_psi_is_in_zero_one():
    s, t, z = tiny()
    assert torch.allclose(z.norm(dim=1), torch.ones(z.shape[0], dtype=F64), atol=1e-14)
    f = s.features(z)
    assert f.shape == (40, 6) and bool(((f > 0) & (f <= 1)).all())
    assert torch.equal(s.output(z), f.mean(dim=1))
    # one particle by hand: exp(-(b . relu(W z))^2 / sigma^2)
    a = torch.relu(z @ s.W[2].T) @ s.b[2]
    assert torch.allclose(f[:, 2], torch.exp(-(a**2) / 4.0), rtol=0, atol=1e-15)


def test_mean_field_particles_are_independent():
    s, _, z = tiny(n_particles=4)
    jw, jb = torch.autograd.functional.jacobian(lambda W, b: st.psi(z, W, b), (s.W, s.b))
    assert jw.shape == (40, 4, 4, 3, 5) and jb.shape == (40, 4, 4, 3)
    for n in range(4):
        others = [m for m in range(4) if m != n]
        assert torch.count_nonzero(jw[:, n][:, others]) == 0 and torch.count_nonzero(jb[:, n][:, others]) == 0
        assert torch.count_nonzero(jw[:, n, n]) > 0 and torch.count_nonzero(jb[:, n, n]) > 0


def test_dense_student_particles_share_hidden_units():
    s, _, z = tiny(n_particles=4, dense=True, std=0.5)
    assert s.W.shape == (12, 5) and s.B.shape == (4, 12)  # same number of hidden units as 4 particles x 3
    jw = torch.autograd.functional.jacobian(lambda W: s.with_params((W, s.B)).features(z), s.W)  # (40, 4, 12, 5)
    for n in range(4):
        own = slice(3 * n, 3 * n + 3)
        outside = torch.ones(12, dtype=torch.bool)
        outside[own] = False
        assert torch.count_nonzero(jw[:, n][:, outside]) > 0  # particle n's output moves with others' units


def test_mean_field_gradient_is_n_times_autograd_of_the_batch_loss():
    for dense in (False, True):
        s, t, z = tiny(n_particles=7, dense=dense, std=0.5 if dense else 1.0)
        params = tuple(p.clone().requires_grad_(True) for p in s.params)
        loss = 0.5 * ((s.with_params(params).output(z) - t.output(z)) ** 2).mean()
        expected = torch.autograd.grad(loss, params)
        got = s.witness_gradient(z, st.residual(s, t, z))
        for g, e in zip(got, expected, strict=True):
            assert torch.count_nonzero(e) > 0
            assert torch.allclose(g, s.n_particles * e, rtol=1e-10, atol=1e-14)


def test_injection_uses_the_clean_witness_and_leaves_the_particles_unperturbed():
    s, t, z = tiny()
    beta, lr = 0.5, 0.3
    out = st.step(s, t, z, lr, beta, "injection", torch_generator(7))
    clean = st.residual(s, t, z)
    assert torch.equal(out.residual, clean)
    # the gradient is read at U + beta u, u the generator's draws, with the clean residual
    again = torch_generator(7)
    u = [torch.randn(p.shape, generator=again, dtype=F64) for p in s.params]
    for w, p, e in zip(out.where.params, s.params, u, strict=True):
        assert torch.allclose(w, p + beta * e, rtol=0, atol=1e-15)
    for g, e in zip(out.gradient, out.where.witness_gradient(z, clean), strict=True):
        assert torch.equal(g, e)
    assert not torch.allclose(out.gradient[0], s.witness_gradient(z, clean)[0])  # the noise changed the gradient
    # the particles move by the gradient only: no noise lands in them
    assert out.noise is None
    for new, p, g in zip(out.student.params, s.params, out.gradient, strict=True):
        assert torch.equal(new, p - lr * g)


def test_diffusion_moves_the_particles_by_the_noise():
    s, t, z = tiny()
    beta, lr = 0.5, 0.3
    out = st.step(s, t, z, lr, beta, "diffusion", torch_generator(7))
    clean = st.residual(s, t, z)
    assert torch.equal(out.residual, clean) and out.where is s
    again = torch_generator(7)
    for new, p, g, e in zip(out.student.params, s.params, s.witness_gradient(z, clean), out.noise, strict=True):
        u = torch.randn(p.shape, generator=again, dtype=F64)
        assert torch.allclose(e, math.sqrt(2 * lr) * beta * u, rtol=0, atol=1e-15)  # Langevin scaling
        assert torch.allclose(new, p - lr * g + e, rtol=0, atol=1e-15)
    per_step = st.step(s, t, z, lr, beta, "diffusion", torch_generator(7), diffusion="per_step")
    assert torch.allclose(per_step.noise[0], out.noise[0] / math.sqrt(2 * lr), rtol=1e-12)


def test_with_beta_zero_the_variants_coincide():
    s, t, z = tiny()
    steps = [st.step(s, t, z, 0.3, 0.0, v, torch_generator(1)) for v in st.VARIANTS]
    for other in steps[1:]:
        for a, b in zip(steps[0].student.params, other.student.params, strict=True):
            assert torch.equal(a, b)
    for schedule in (constant(0.0), halving(0.0, 10)):
        recipe = small_recipe(steps=30, eval_every=10, n_validation=100, noise=schedule)
        runs = []
        for variant in st.VARIANTS:
            student, teacher = st.networks(recipe, streams(3), dtype=F64)
            runs.append(st.train(student, teacher, recipe, streams(3), variant))
        for other in runs[1:]:
            assert np.array_equal(runs[0].validation, other.validation)
            assert np.array_equal(runs[0].train, other.train)
            assert torch.equal(runs[0].student.W, other.student.W)


def test_loss_is_half_the_mmd_squared_of_the_particle_measures():
    s, t, z = tiny(n_particles=9)
    assert st.mmd_squared(s, t, z) == pytest.approx(2 * st.population_loss(s, t, z), rel=1e-12)
    k = st.kernel_matrix(s, s, z)
    assert torch.allclose(k, k.T) and float(torch.linalg.eigvalsh(k).min()) > -1e-12  # a positive kernel


def test_training_without_noise_lowers_the_validation_loss():
    # measured: validation loss / 42 (seed 0); 20x to 97x over seeds 0-7 with these settings
    recipe = small_recipe()
    student, teacher = st.networks(recipe, streams(0), dtype=F64)
    history = st.train(student, teacher, recipe, streams(0), "none")
    assert history.steps.tolist() == [0, 50, 100, 150, 200]
    assert len(history.validation) == len(history.train) == len(history.beta) == 5
    assert history.validation[-1] < history.validation[0] / 10
    assert history.validation[0] == pytest.approx(st.population_loss(student, teacher, st.sphere(
        recipe.n_validation, recipe.dim, st.generators(streams(0)).validation, teacher.W)))


def test_history_and_fixed_training_set():
    recipe = small_recipe(steps=25, eval_every=10, n_train=100, batch=20, noise=halving(1.0, 10))
    student, teacher = st.networks(recipe, streams(1), dtype=F64)
    h = st.train(student, teacher, recipe, streams(1), "injection")
    assert h.steps.tolist() == [0, 10, 20, 25]
    assert h.beta.tolist() == [1.0, 1.0, 0.5, 0.25]
    assert np.isfinite(h.train).all() and h.seconds > 0
    with pytest.raises(ValueError, match="multiple"):
        small_recipe(n_train=110, batch=20)
    with pytest.raises(ValueError, match="variant"):
        st.train(student, teacher, recipe, streams(1), "langevin")


def test_dense_student_trains():
    recipe = small_recipe(n_particles=20, steps=100, lr=1.0)
    student, teacher = st.networks(recipe, streams(0), dtype=F64, dense=True)
    assert isinstance(student, st.DenseStudent) and student.n_particles == 20
    h = st.train(student, teacher, recipe, streams(0), "none")
    assert h.validation[-1] < h.validation[0]


def test_the_guard_stops_a_diverging_run():
    recipe = small_recipe(steps=50, lr=1e9)
    student, teacher = st.networks(recipe, streams(0), dtype=F64)
    with pytest.raises(DivergenceError):
        st.train(student, teacher, recipe, streams(0), "none")
    poisoned = student.with_params((student.W.clone(), student.b.clone()))
    poisoned.W[0, 0, 0] = float("nan")
    with pytest.raises(DivergenceError, match="step 0"):
        st.train(poisoned, teacher, recipe, streams(0), "injection")


def test_runs_use_only_their_own_streams():
    recipe = small_recipe(steps=20, eval_every=10, noise=constant(0.3))
    state = torch.get_rng_state()
    student, teacher = st.networks(recipe, streams(5), dtype=F64)
    a = st.train(student, teacher, recipe, streams(5), "injection")
    b = st.train(student, teacher, recipe, st.generators(streams(5)), "injection")
    assert torch.equal(torch.get_rng_state(), state)
    assert np.array_equal(a.validation, b.validation) and torch.equal(a.student.W, b.student.W)
    c = st.train(student, teacher, recipe, streams(6), "injection")
    assert not np.array_equal(a.validation[1:], c.validation[1:])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_teachers_device():
    recipe = small_recipe(steps=20, eval_every=10, noise=constant(0.3))
    student, teacher = st.networks(recipe, streams(0), dtype=F64, device="cuda")
    h = st.train(student, teacher, recipe, streams(0), "injection")
    assert h.student.W.is_cuda and np.isfinite(h.validation).all()
