"""The student-teacher experiment of the MMD flow (seed 001, post-credit slide: Arbel, Korba, Salim & Gretton,
"Maximum Mean Discrepancy Gradient Flow", NeurIPS 2019, arXiv 1906.04370).

**The model.** One particle U = (W, b) is a small network with ``h`` hidden ReLU units, W: (h, d), b: (h,), and

    psi(z, U) = exp(-(b . relu(W z))^2 / sigma^2),

a Gaussian-shaped output non-linearity applied to each particle's scalar output. A network of N particles outputs
the mean-field average y(z) = (1/N) sum_n psi(z, U_n), i.e. the integral of psi(z, .) against the particle measure
nu = (1/N) sum_n delta_{U_n}. Here the N particles are batched as W: (N, h, d), b: (N, h) (:class:`ParticleNetwork`),
and particle n's output depends on (W_n, b_n) alone.

**Why this is an MMD flow.** With k(U, U') = E_z[psi(z, U) psi(z, U')] (a positive-definite kernel on particles),
E_z (y_student(z) - y_teacher(z))^2 = MMD^2(nu_student, nu_teacher) exactly. The loss used here (and in the
authors' code) is L = 1/2 E_z r(z)^2 = 1/2 MMD^2 with the residual r = y_student - y_teacher, whose first variation
in nu_student is the witness

    f(U) = E_z[r(z) psi(z, U)] = int k(U, .) dnu_student - int k(U, .) dnu_teacher,

and dL/dU_n = (1/N) grad f(U_n). SGD with the learning rate multiplied by N (the mean-field time scaling, so that
each particle moves O(1) per unit time whatever N) is therefore U_n <- U_n - lr grad f(U_n), a stochastic Euler step
of the MMD flow, with the expectation over z replaced by a batch mean. In this module every variant uses that one
scaling: the step's gradient for particle n is mean_i r(z_i) grad_U psi(z_i, U) (:meth:`ParticleNetwork.
witness_gradient`), which equals N times the autograd gradient of the batch loss 1/2 mean_i r(z_i)^2.

**Variants** (:func:`step`), with beta_t = ``recipe.noise(t)`` (:class:`~latentebm.particles.noise.NoiseSchedule`):

- ``"none"``: U_n <- U_n - lr grad f_t(U_n).
- ``"injection"``: U_n <- U_n - lr grad f_t(U_n + beta_t u_n), u_n ~ N(0, I) fresh for every particle and step, over
  every weight of the particle (W_n and b_n). The residual r, hence the witness f_t, comes from the *clean* particles;
  only the point where its gradient is read is perturbed, and the particles themselves never receive the noise.
- ``"diffusion"``: the noise goes into the particles. With ``recipe.diffusion == "langevin"`` (the default),
  U_n <- U_n - lr grad f_t(U_n) + sqrt(2 lr) beta_t u_n, the Euler-Maruyama step of dU = -grad f dt + sqrt(2) beta dW
  (the convention of :mod:`latentebm.particles.flow`). Choice and comparability: its noise per unit flow time does
  not depend on lr (the lr -> 0 limit is a diffusion, not a jump process), and near a minimum of curvature c a
  particle spreads with variance beta^2 / c, which is injection's beta^2 when c = 1: the same beta puts both variants
  at comparable noise. In this problem the loss is much flatter than that (c << 1), so the same beta spreads the
  diffusion's particles far more: measured at the :meth:`StudentTeacherRecipe.ci` scale, diffusion with the
  injection's beta (1.0, halved every 500 steps) ends far above the untrained student's loss (0.20-0.28 against
  0.016-0.064, seeds 0-2), while beta = 0.001 ends about where the plain flow does (within 10%). ``"per_step"`` is
  the authors' scaling, U_n <- U_n - lr grad f_t(U_n) + beta_t u_n (no lr factor: at lr = 0.1 the noise per step is
  sqrt(5) ~ 2.2 times the Langevin one).

With beta_t = 0 the three variants are the same computation (no draw is used).

**What the authors' code does** (repository MichaelArbel/MMD-gradient-flow, files networks.py, losses.py,
trainer.py, train_student_teacher.py, read for this module; facts, not their code):

- Inputs z are uniform on the unit sphere of R^d (a standard Gaussian divided by its norm), d = 50. The training set
  is one fixed draw of 1000 points, reshuffled every epoch and cut into batches of 100 (10 SGD steps per epoch); the
  validation set is a second, independent draw of 1000 points. Targets are the teacher's outputs, noiseless.
- The teacher is a single network with 3 hidden ReLU units and no biases: exp(-(b . relu(W z))^2 / sigma^2),
  sigma = 2, weights N(0, 1). In the particle picture it is *one* particle (teacher_particles = 1 here).
- The student has 1000 particles x 3 hidden units, but its second layer is one dense (1000, 3000) matrix: particle
  n's pre-activation is B_n . relu(W z) over all 3000 hidden units, then exp(-x^2 / sigma^2) per particle, then the
  mean over particles. Hidden units are shared by all particles (:class:`DenseStudent`). Student weights are
  N(0.001, 1) (both layers), no biases.
- Loss value: 1/2 mean over the batch of r^2 (what they report for training and validation).
- Noise injection: the clean output (detached) gives the residual; a second forward pass with every weight of both
  layers perturbed by noise_level * N(0, 1) gives the features whose gradient is taken. Their gradient per particle is
  1/2 mean_i r_i grad psi_n, i.e. half the mean-field gradient used here.
- Without noise (with_noise false) they backpropagate the plain loss 1/2 mean r^2, i.e. (1/N) mean_i r_i grad psi_n:
  no mean-field factor N, so at N = 1000 their plain run moves 500 times slower than their injection run at the
  same lr. (Their argparse flag is type=bool, so ``--with_noise False`` still parses as True.)
- Diffusion: before every step all weights get noise_level * N(0, 1) added in place (no lr factor), then the
  gradient of the loss at the noised weights with the factor N: mean_i r_i grad psi_n, r from the noised network.
  Their validation pass runs the same loss forward, so in the diffusion run every validation batch adds noise to the
  weights as well (10 more additions per epoch).
- Defaults: SGD, lr 0.1 (their README says 1.0), 10,000 epochs (100,000 steps), noise_level 1.0 multiplied by 0.5
  after every 1000 epochs (10,000 steps; ``halving(1.0, 10_000)`` here, which halves 10 steps earlier), the same decay
  applied in the diffusion run, float32, seed 1 through the global torch stream, no lr scheduler by default.

This module keeps their architecture, inputs, initialisation and loss, but (i) uses the mean-field scaling for all
three variants so that they differ only by the noise, (ii) defaults to a mean-field student whose particles are
independent small networks (the dense student is kept as an ablation), (iii) offers fresh batches (``n_train=None``,
SGD on the population loss) besides the authors' fixed training set, and (iv) draws everything from explicit
generators (:class:`Generators`), never from the global torch stream.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import torch

from latentebm.guards import check_finite
from latentebm.particles.noise import NoiseSchedule, halving
from latentebm.runtime import Stream

VARIANTS = ("none", "injection", "diffusion")
DIFFUSIONS = ("langevin", "per_step")
SIGMA = 2.0
"""the authors' width of the output non-linearity exp(-x^2 / sigma^2)"""


# ------------------------------------------------------------------------------------------------ inputs and draws
def _normal(shape: tuple[int, ...], like: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
    """N(0, 1) of ``shape`` drawn from ``rng`` (on its own device), returned on ``like``'s device and dtype."""
    if rng is None:
        raise ValueError("this draw needs an explicit torch.Generator")
    draw = torch.randn(shape, generator=rng, dtype=like.dtype, device=rng.device)
    return draw.to(like.device)


def sphere(n: int, dim: int, rng: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """``n`` points uniform on the unit sphere of R^dim (the authors' inputs), dtype and device of ``like``."""
    x = _normal((n, dim), like, rng)
    return x / x.norm(dim=1, keepdim=True)


def psi(z: torch.Tensor, W: torch.Tensor, b: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """psi(z_i, U_n) = exp(-(b_n . relu(W_n z_i))^2 / sigma^2) for z: (B, d), W: (N, h, d), b: (N, h) -> (B, N)."""
    a = torch.einsum("bnh,nh->bn", torch.relu(torch.einsum("bd,nhd->bnh", z, W)), b)
    return torch.exp(-(a**2) / sigma**2)


# ---------------------------------------------------------------------------------------------------- the networks
class _Network:
    """What both student shapes share: the mean-field output, perturbed copies and parameter tuples."""

    sigma: float

    @property
    def params(self) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def with_params(self, params: tuple[torch.Tensor, ...]) -> _Network:
        raise NotImplementedError

    def features(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def output(self, z: torch.Tensor) -> torch.Tensor:
        """y(z) = (1/N) sum_n psi_n(z): (B,)."""
        return self.features(z).mean(dim=1)

    def perturbed(self, beta: float, rng: torch.Generator) -> _Network:
        """A copy with every weight moved by beta * N(0, 1) (fresh draws from ``rng``)."""
        return self.with_params(tuple(p + beta * _normal(tuple(p.shape), p, rng) for p in self.params))

    def largest_weight(self) -> float:
        return float(max(p.abs().max() for p in self.params))


@dataclass(frozen=True)
class ParticleNetwork(_Network):
    """N independent particles U_n = (W_n, b_n), W: (N, h, d), b: (N, h); the mean-field network
    y(z) = (1/N) sum_n psi(z, U_n). The teacher and the mean-field student are both of this kind."""

    W: torch.Tensor
    b: torch.Tensor
    sigma: float = SIGMA

    def __post_init__(self) -> None:
        if self.W.ndim != 3 or self.b.shape != self.W.shape[:2]:
            raise ValueError(f"W must be (N, h, d) and b (N, h), got {tuple(self.W.shape)}, {tuple(self.b.shape)}")

    @property
    def n_particles(self) -> int:
        return self.W.shape[0]

    @property
    def params(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.W, self.b)

    def with_params(self, params: tuple[torch.Tensor, ...]) -> ParticleNetwork:
        W, b = params
        return ParticleNetwork(W, b, self.sigma)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """psi(z_i, U_n): (B, N)."""
        return psi(z, self.W, self.b, self.sigma)

    def witness_gradient(self, z: torch.Tensor, residual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mean_i residual_i grad_{U_n} psi(z_i, U_n) for every particle, as (dW: (N, h, d), db: (N, h)), in closed
        form: the batch estimate of grad f(U_n), f the witness of ``residual``. The residual is taken as given
        (no gradient flows through it)."""
        pre = torch.einsum("bd,nhd->bnh", z, self.W)
        act = torch.relu(pre)
        a = torch.einsum("bnh,nh->bn", act, self.b)
        dpsi_da = -2.0 * a / self.sigma**2 * torch.exp(-(a**2) / self.sigma**2)
        c = residual.detach()[:, None] * dpsi_da / z.shape[0]  # (B, N)
        db = torch.einsum("bn,bnh->nh", c, act)
        dW = torch.einsum("bnh,bd->nhd", c[:, :, None] * self.b[None] * (pre > 0).to(pre.dtype), z)
        return dW, db


@dataclass(frozen=True)
class DenseStudent(_Network):
    """The authors' student shape (ablation): hidden weights W: (N h, d) shared by all particles through one dense
    output matrix B: (N, N h); particle n's output is exp(-(B_n . relu(W z))^2 / sigma^2), so every particle depends
    on every hidden unit. Same number of hidden units (N h) as a mean-field student of N particles x h units."""

    W: torch.Tensor
    B: torch.Tensor
    sigma: float = SIGMA

    def __post_init__(self) -> None:
        if self.W.ndim != 2 or self.B.ndim != 2 or self.B.shape[1] != self.W.shape[0]:
            raise ValueError(f"W must be (H, d) and B (N, H), got {tuple(self.W.shape)}, {tuple(self.B.shape)}")

    @property
    def n_particles(self) -> int:
        return self.B.shape[0]

    @property
    def params(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.W, self.B)

    def with_params(self, params: tuple[torch.Tensor, ...]) -> DenseStudent:
        W, B = params
        return DenseStudent(W, B, self.sigma)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        a = torch.relu(z @ self.W.T) @ self.B.T  # (B, N)
        return torch.exp(-(a**2) / self.sigma**2)

    def witness_gradient(self, z: torch.Tensor, residual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """grad_theta mean_i residual_i sum_n psi_n(z_i; theta) by autograd (residual held fixed): N times the
        gradient of the batch loss, the same time scaling as :meth:`ParticleNetwork.witness_gradient`."""
        with torch.enable_grad():
            params = tuple(p.detach().requires_grad_(True) for p in self.params)
            surrogate = (residual.detach()[:, None] * self.with_params(params).features(z)).sum(dim=1).mean()
            dW, dB = torch.autograd.grad(surrogate, params)
        return dW, dB


def _weights(shape: tuple[int, ...], rng: torch.Generator, mean: float, std: float, dtype: torch.dtype | None,
             device: torch.device | str) -> torch.Tensor:
    like = torch.empty(0, dtype=dtype or torch.get_default_dtype(), device=device)
    return mean + std * _normal(shape, like, rng)


def teacher(dim: int, hidden: int, rng: torch.Generator, n_particles: int = 1, std: float = 1.0,
            sigma: float = SIGMA, dtype: torch.dtype | None = None, device: torch.device | str = "cpu"
            ) -> ParticleNetwork:
    """The teacher: ``n_particles`` (M) networks of ``hidden`` ReLU units, weights N(0, std^2) drawn from ``rng``
    (W first, then b). M = 1 is the authors' teacher."""
    W = _weights((n_particles, hidden, dim), rng, 0.0, std, dtype, device)
    b = _weights((n_particles, hidden), rng, 0.0, std, dtype, device)
    return ParticleNetwork(W, b, sigma)


def mean_field_student(n_particles: int, hidden: int, dim: int, rng: torch.Generator, mean: float = 1e-3,
                       std: float = 1.0, sigma: float = SIGMA, dtype: torch.dtype | None = None,
                       device: torch.device | str = "cpu") -> ParticleNetwork:
    """A mean-field student of independent particles, weights N(mean, std^2) (the authors' N(0.001, 1))."""
    W = _weights((n_particles, hidden, dim), rng, mean, std, dtype, device)
    b = _weights((n_particles, hidden), rng, mean, std, dtype, device)
    return ParticleNetwork(W, b, sigma)


def dense_student(n_particles: int, hidden: int, dim: int, rng: torch.Generator, mean: float = 1e-3,
                  std: float = 1.0, sigma: float = SIGMA, dtype: torch.dtype | None = None,
                  device: torch.device | str = "cpu") -> DenseStudent:
    """The authors' dense student: N h shared hidden units, a dense (N, N h) output matrix, weights N(mean, std^2)."""
    W = _weights((n_particles * hidden, dim), rng, mean, std, dtype, device)
    B = _weights((n_particles, n_particles * hidden), rng, mean, std, dtype, device)
    return DenseStudent(W, B, sigma)


# ---------------------------------------------------------------------------------------- losses and the MMD view
def residual(student: _Network, teacher: _Network, z: torch.Tensor) -> torch.Tensor:
    """r(z_i) = y_student(z_i) - y_teacher(z_i): (B,)."""
    return student.output(z) - teacher.output(z)


def population_loss(student: _Network, teacher: _Network, z: torch.Tensor) -> float:
    """1/2 mean_i r(z_i)^2: with z a large sample of the input distribution, an estimate of 1/2 MMD^2 between the
    two particle measures (the authors' reported loss)."""
    return float(0.5 * (residual(student, teacher, z) ** 2).mean())


def kernel_matrix(a: _Network, b: _Network, z: torch.Tensor) -> torch.Tensor:
    """k(U_m, U'_n) = mean_i psi(z_i, U_m) psi(z_i, U'_n) estimated on ``z``: (N_a, N_b)."""
    return a.features(z).T @ b.features(z) / z.shape[0]


def mmd_squared(student: _Network, teacher: _Network, z: torch.Tensor) -> float:
    """MMD^2 of the two particle measures for the kernel estimated on ``z`` (V-statistic). Algebraically equal to
    mean_i r(z_i)^2, i.e. 2 x :func:`population_loss` on the same z."""
    return float(kernel_matrix(student, student, z).mean() - 2 * kernel_matrix(student, teacher, z).mean()
                 + kernel_matrix(teacher, teacher, z).mean())


# ---------------------------------------------------------------------------------------------------- the recipe
@dataclass(frozen=True)
class StudentTeacherRecipe:
    """Every default of the experiment; the defaults are the authors' (see the module docstring), except the
    time scaling (mean-field for every variant here). :meth:`ci` is the small configuration measured on a CPU."""

    dim: int = 50
    hidden: int = 3
    n_particles: int = 1000
    teacher_particles: int = 1
    sigma: float = SIGMA
    teacher_std: float = 1.0
    student_mean: float = 1e-3
    student_std: float = 1.0
    lr: float = 0.1
    """mean-field learning rate: the step of each particle is lr x mean_i r_i grad psi (= lr N x the SGD gradient)"""
    batch: int = 100
    steps: int = 100_000
    n_train: int | None = 1000
    """size of the fixed training set (reshuffled every epoch); None draws a fresh batch every step"""
    n_validation: int = 1000
    eval_every: int = 100
    noise: NoiseSchedule = field(default_factory=lambda: halving(1.0, 10_000))
    diffusion: str = "langevin"
    """noise of the diffusion variant per step: "langevin" sqrt(2 lr) beta u, "per_step" beta u (the authors')"""

    def __post_init__(self) -> None:
        if self.diffusion not in DIFFUSIONS:
            raise ValueError(f"diffusion must be one of {DIFFUSIONS}, got {self.diffusion!r}")
        if min(self.dim, self.hidden, self.n_particles, self.teacher_particles, self.batch, self.n_validation,
               self.eval_every) < 1 or self.steps < 0:
            raise ValueError("sizes must be >= 1 and steps >= 0")
        if not (self.lr > 0 and self.sigma > 0):
            raise ValueError(f"lr and sigma must be > 0, got lr={self.lr}, sigma={self.sigma}")
        if self.n_train is not None and (self.n_train < self.batch or self.n_train % self.batch):
            raise ValueError(f"n_train ({self.n_train}) must be a positive multiple of batch ({self.batch})")

    @classmethod
    def ci(cls, **changes) -> StudentTeacherRecipe:
        """The small CPU configuration of this module's scratch experiment: d = 10, 200 particles, 3000 steps of
        fresh batches, mean-field lr 10 (chosen from 0.1, 1, 3, 10, 30: the plain flow's final loss kept falling up
        to 10-30), noise halving(1.0, every 500 steps) (the authors' beta_0, halved 6 times in the run). About 3.5 s
        a run on one CPU thread in float64. ``changes`` override any field (the diffusion variant wants a far
        smaller beta: see the module docstring)."""
        small = dict(dim=10, n_particles=200, steps=3000, n_train=None, eval_every=50, lr=10.0,
                     noise=halving(1.0, 500))
        return replace(cls(), **{**small, **changes})


class Generators(NamedTuple):
    """The three independent random streams of a run."""

    batches: torch.Generator
    noise: torch.Generator
    validation: torch.Generator


def generators(stream: Stream, device: torch.device | str = "cpu") -> Generators:
    """``stream``'s children "batches", "noise" and "validation" as generators on ``device``."""
    return Generators(*(stream.child(name).torch(device) for name in Generators._fields))


def networks(recipe: StudentTeacherRecipe, stream: Stream, dtype: torch.dtype | None = None,
             device: torch.device | str = "cpu", dense: bool = False) -> tuple[_Network, ParticleNetwork]:
    """(student, teacher) of ``recipe`` drawn from ``stream``'s children "student" and "teacher" (on the CPU, so the
    draws do not depend on the device, then moved)."""
    r = recipe
    t = teacher(r.dim, r.hidden, stream.child("teacher").torch(), r.teacher_particles, r.teacher_std, r.sigma, dtype)
    build = dense_student if dense else mean_field_student
    s = build(r.n_particles, r.hidden, r.dim, stream.child("student").torch(), r.student_mean, r.student_std,
              r.sigma, dtype)
    return s.with_params(tuple(p.to(device) for p in s.params)), t.with_params(tuple(p.to(device) for p in t.params))


# ---------------------------------------------------------------------------------------------------- one step
class Step(NamedTuple):
    """What one step used and produced: the new ``student``, the ``residual`` (from the clean particles), the
    network ``where`` the gradient was read (the perturbed particles under injection, else the clean ones), the
    ``gradient`` (per parameter), the diffusion ``noise`` added to the particles (None if none) and the clean
    batch ``loss`` 1/2 mean r^2 before the update."""

    student: _Network
    residual: torch.Tensor
    where: _Network
    gradient: tuple[torch.Tensor, ...]
    noise: tuple[torch.Tensor, ...] | None
    loss: float


def step(student: _Network, teacher: _Network, z: torch.Tensor, lr: float, beta: float, variant: str,
         rng: torch.Generator | None = None, diffusion: str = "langevin") -> Step:
    """One SGD / Euler step of the MMD flow on the batch ``z`` (see the module docstring for the three variants)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    # witness from the clean particles: the residual every variant uses
    r = residual(student, teacher, z)
    # gradient at the perturbed (injection) or clean particles
    where = student.perturbed(beta, rng) if variant == "injection" and beta > 0 else student
    gradient = where.witness_gradient(z, r)
    # update: the flow's step, plus the noise in the particles for the diffusion
    params = tuple(p - lr * g for p, g in zip(student.params, gradient, strict=True))
    noise = None
    if variant == "diffusion" and beta > 0:
        scale = math.sqrt(2.0 * lr) * beta if diffusion == "langevin" else beta
        noise = tuple(scale * _normal(tuple(p.shape), p, rng) for p in params)
        params = tuple(p + e for p, e in zip(params, noise, strict=True))
    return Step(student.with_params(params), r, where, gradient, noise, float(0.5 * (r**2).mean()))


# ---------------------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class History:
    """Validation loss 1/2 mean r^2 on the fixed validation set after ``steps`` steps (0, eval_every, ..., and
    the last); ``train`` the mean clean batch loss (before each step's update) of the steps since the previous
    record, at 0 the first batch's (NaN if no step); ``beta`` the noise level of the window's last step (at 0 the
    first step's); ``student`` the final network; ``seconds`` the wall time."""

    steps: np.ndarray
    validation: np.ndarray
    train: np.ndarray
    beta: np.ndarray
    student: _Network
    seconds: float



def train(student: _Network, teacher: ParticleNetwork, recipe: StudentTeacherRecipe, rngs: Generators | Stream,
          variant: str = "none", limit: float = 1e6) -> History:
    """SGD of ``student`` on ``teacher`` for ``recipe.steps`` steps of ``variant`` ("none", "injection",
    "diffusion") with beta_t = ``recipe.noise(t)``. Tensors live on the teacher's device and dtype; ``rngs`` are
    the run's generators (or a stream: :func:`generators` on the CPU, so that the draws do not depend on the
    device). Raises DivergenceError on a non-finite loss or weights beyond ``limit``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    started = time.perf_counter()
    like = teacher.W
    if isinstance(rngs, Stream):
        rngs = generators(rngs)  # CPU generators, draws moved to the device: the same run on any device
    student = student.with_params(tuple(p.to(like) for p in student.params))
    z_validation = sphere(recipe.n_validation, recipe.dim, rngs.validation, like)
    z_train = None if recipe.n_train is None else sphere(recipe.n_train, recipe.dim, rngs.batches, like)
    per_epoch = 1 if recipe.n_train is None else recipe.n_train // recipe.batch
    beta_of = (lambda n: 0.0) if variant == "none" else recipe.noise
    steps, validation = [0], [population_loss(student, teacher, z_validation)]
    train_loss, betas = [math.nan], [beta_of(0)]
    window: list[float] = []
    order = None
    for n in range(recipe.steps):
        # draw the batch: fresh points, or the next slice of this epoch's permutation of the training set
        if z_train is None:
            z = sphere(recipe.batch, recipe.dim, rngs.batches, like)
        else:
            k = n % per_epoch
            if k == 0:
                order = torch.randperm(recipe.n_train, generator=rngs.batches, device=rngs.batches.device)
                order = order.to(like.device)
            z = z_train[order[k * recipe.batch:(k + 1) * recipe.batch]]
        # witness from the clean particles, gradient at the perturbed or clean ones, update (one call: see step)
        beta = beta_of(n)
        result = step(student, teacher, z, recipe.lr, beta, variant, rngs.noise, recipe.diffusion)
        student = result.student
        # guard: a non-finite or runaway loss or weight stops the run
        check_finite(n, limit=limit, batch_loss=result.loss, largest_weight=student.largest_weight())
        # record: the clean batch losses of the window, the validation loss after every eval_every steps
        window.append(result.loss)
        if n == 0:
            train_loss[0] = result.loss
        if (n + 1) % recipe.eval_every == 0 or n + 1 == recipe.steps:
            steps.append(n + 1)
            validation.append(population_loss(student, teacher, z_validation))
            train_loss.append(float(np.mean(window)))
            betas.append(beta)
            window = []
    return History(np.asarray(steps), np.asarray(validation), np.asarray(train_loss), np.asarray(betas), student,
                   time.perf_counter() - started)
