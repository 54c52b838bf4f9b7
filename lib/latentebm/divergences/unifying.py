"""GANs and VAEs as opposite KLs (seed 004: Hu, Yang, Salakhutdinov & Xing, *On unifying deep generative models*,
ICLR 2018), computed exactly on the line by quadrature, in float64.

Symbols (the seed's): ``y in {0, 1}`` the domain indicator with ``p(y)`` uniform; ``p_theta(x|y=0) = p_g`` the
generator, here ``N(m, s^2)`` with ``theta = (m, log s)``; ``p_theta(x|y=1) = p_data`` a fixed Gaussian mixture;
the discriminator ``q_phi(y=1|x) = sigmoid(f_phi(x))`` with ``f_phi`` a polynomial (deliberately not the optimal
``log p_data - log p_g``); the reversed discriminator ``q^r_phi(y|x) = q_phi(1-y|x)``. Then (eq. 3) the
generator maximises ``E_{p(y)} E_{p_theta(x|y)} log q^r_phi(y|x)``, and Lemma 1 (eq. 4) says that at ``theta0``

    grad_theta [ -E_{p(y)} E_{p_theta(x|y)} log q^r_phi0(y|x) ]
        = grad_theta [ E_{p(y)} KL(p_theta(x|y) || q^r(x|y)) - JSD(p_theta(x|0) || p_theta(x|1)) ],

with the posterior ``q^r(x|y) = q^r_phi0(y|x) p_theta0(x) / Z_y`` and the prior ``p_theta0(x) = E_{p(y)}
p_theta0(x|y)`` held fixed at ``theta0``. Nothing asks ``phi0`` to be optimal. :func:`lemma1_gradients` computes
both sides by autograd through the quadrature sums on a fine grid, and a control that builds ``q^r`` with the prior
at ``theta0 + delta``, which breaks the identity by ``(1/2) int grad p_g (log p_theta0 - log p_{theta0+delta})``.

The direction of the KL (:func:`fit_gaussian`): the VAE's (maximum likelihood's) ``KL(target || model)`` covers
every mode (for a Gaussian model its minimiser matches the target's mean and variance), the ``KL(model ||
target)`` that the GAN's objective carries seeks one mode.

Every density is handled through its log on a uniform grid (:class:`Grid`): ``int f dx ~ sum_j f(x_j) dx``,
which for these smooth, fast-decaying integrands equals the trapezoid rule and is exact to round-off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

DTYPE = torch.float64
DIRECTIONS = ("forward", "reverse")


@dataclass(frozen=True)
class Grid:
    """``points (n,)`` equally spaced on ``[-half_width, half_width]`` with spacing ``dx``, float64."""

    points: Tensor
    dx: float


def grid(half_width: float = 12.0, points: int = 6001) -> Grid:
    """The quadrature grid on ``[-half_width, half_width]`` (``points`` points, ends included)."""
    x = torch.linspace(-half_width, half_width, points, dtype=DTYPE)
    return Grid(x, 2 * half_width / (points - 1))


def integrate(values: Tensor, g: Grid) -> Tensor:
    """``int f dx`` from ``f`` on the grid, ``(..., n) -> (...)`` (differentiable)."""
    return values.sum(-1) * g.dx


def gaussian_log_prob(x: Tensor, mean: Tensor | float, log_sd: Tensor | float) -> Tensor:
    """``log N(x; mean, exp(log_sd)^2)``, differentiable in ``mean`` and ``log_sd``."""
    log_sd = torch.as_tensor(log_sd, dtype=DTYPE)
    return -0.5 * ((x - mean) * torch.exp(-log_sd)) ** 2 - log_sd - 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Mixture1D:
    """``sum_k weights[k] N(means[k], sds[k]^2)`` on the line (weights summing to 1)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]

    def log_prob(self, x: Tensor) -> Tensor:
        """``x (...) -> (...)``."""
        parts = [math.log(w) + gaussian_log_prob(x, m, math.log(s))
                 for w, m, s in zip(self.weights, self.means, self.sds, strict=True)]
        return torch.logsumexp(torch.stack(parts), dim=0)

    def moments(self) -> tuple[float, float]:
        """(mean, sd) in closed form: what the forward-KL Gaussian fit must match."""
        mean = sum(w * m for w, m in zip(self.weights, self.means, strict=True))
        second = sum(w * (s**2 + m**2) for w, m, s in zip(self.weights, self.means, self.sds, strict=True))
        return mean, math.sqrt(second - mean**2)


def kl(log_p: Tensor, log_q: Tensor, g: Grid) -> Tensor:
    """``KL(p || q) = int p (log p - log q)`` from the log-densities on the grid."""
    return integrate(log_p.exp() * (log_p - log_q), g)


def jsd(log_p: Tensor, log_q: Tensor, g: Grid) -> Tensor:
    """``JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``."""
    log_m = torch.logaddexp(log_p, log_q) - math.log(2)
    return 0.5 * kl(log_p, log_m, g) + 0.5 * kl(log_q, log_m, g)


def gaussian_mass(mean: float, sd: float, lo: float, hi: float) -> float:
    """``P(lo < X < hi)`` for ``X ~ N(mean, sd^2)`` (closed form)."""
    cdf = lambda t: 0.5 * math.erfc(-(t - mean) / (sd * math.sqrt(2)))  # noqa: E731
    return cdf(hi) - cdf(lo)


# --- Lemma 1 -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lemma1Problem:
    """The 1-D problem: the data mixture, the point ``theta0 = (m0, log s0)`` and the discriminator's logit
    ``f_phi0(x) = sum_j coefficients[j] x^j``."""

    data: Mixture1D
    theta0: tuple[float, float]
    coefficients: tuple[float, ...]


def discriminator_logit(x: Tensor, coefficients: Sequence[float]) -> Tensor:
    """``f_phi0(x) = sum_j c_j x^j``: ``q_phi0(y=1|x) = sigmoid(f)``."""
    return sum(c * x**j for j, c in enumerate(coefficients))


def log_qr(y: int, logit: Tensor) -> Tensor:
    """``log q^r_phi(y|x) = log q_phi(1-y|x)``: ``log sigmoid(f)`` for ``y = 0``, ``log sigmoid(-f)`` for 1."""
    return logsigmoid(logit) if y == 0 else logsigmoid(-logit)


def conditionals(theta: Tensor, problem: Lemma1Problem, g: Grid) -> tuple[Tensor, Tensor]:
    """``(log p_theta(x|0), log p_theta(x|1))`` on the grid: the generator ``N(m, s^2)`` and the data."""
    return gaussian_log_prob(g.points, theta[0], theta[1]), problem.data.log_prob(g.points)


def generator_loss(theta: Tensor, problem: Lemma1Problem, g: Grid) -> Tensor:
    """The left side: ``-E_{p(y)} E_{p_theta(x|y)} log q^r_phi0(y|x)`` (eq. 3, negated)."""
    logit = discriminator_logit(g.points, problem.coefficients)
    log_p = conditionals(theta, problem, g)
    return -sum(0.5 * integrate(log_p[y].exp() * log_qr(y, logit), g) for y in (0, 1))


def posterior_log_density(y: int, problem: Lemma1Problem, prior_theta: Tensor, g: Grid) -> Tensor:
    """``log q^r(x|y) = log q^r_phi0(y|x) + log p_prior(x) - log Z_y`` with the prior the mixture
    ``(p_g + p_data) / 2`` at ``prior_theta`` (constant: nothing flows back into it), normalised on the grid."""
    log_g, log_data = conditionals(prior_theta.detach(), problem, g)
    log_prior = torch.logaddexp(log_g, log_data) - math.log(2)
    unnormalised = log_qr(y, discriminator_logit(g.points, problem.coefficients)) + log_prior
    return unnormalised - torch.logsumexp(unnormalised, 0) - math.log(g.dx)


def kl_minus_jsd(theta: Tensor, problem: Lemma1Problem, prior_theta: Tensor, g: Grid) -> Tensor:
    """The right side: ``E_{p(y)} KL(p_theta(x|y) || q^r(x|y)) - JSD(p_theta(x|0) || p_theta(x|1))``, with
    ``q^r`` built from the prior at ``prior_theta``."""
    log_p = conditionals(theta, problem, g)
    expected_kl = sum(0.5 * kl(log_p[y], posterior_log_density(y, problem, prior_theta, g), g) for y in (0, 1))
    return expected_kl - jsd(log_p[0], log_p[1], g)


def gradient(function, theta0: Sequence[float]) -> Tensor:
    """``grad f`` at ``theta0`` by autograd, ``(2,)``."""
    theta = torch.tensor(theta0, dtype=DTYPE, requires_grad=True)
    (grad,) = torch.autograd.grad(function(theta), theta)
    return grad


def lemma1_gradients(problem: Lemma1Problem, g: Grid, delta: Sequence[float] = (0.5, 0.0)) -> dict[str, Tensor]:
    """Both sides of Lemma 1 at ``problem.theta0``, and the control with ``q^r`` built at ``theta0 + delta``.

    Returns {"lhs", "rhs", "control"} (each ``(2,)``: d/dm, d/dlog s) and the relative errors
    ``|rhs - lhs| / |lhs|`` ("rel_error") and ``|control - lhs| / |lhs|`` ("control_rel_error")."""
    theta0 = torch.tensor(problem.theta0, dtype=DTYPE)
    wrong = theta0 + torch.tensor(delta, dtype=DTYPE)
    lhs = gradient(lambda t: generator_loss(t, problem, g), problem.theta0)
    rhs = gradient(lambda t: kl_minus_jsd(t, problem, theta0, g), problem.theta0)
    control = gradient(lambda t: kl_minus_jsd(t, problem, wrong, g), problem.theta0)
    norm = lhs.norm()
    return {"lhs": lhs, "rhs": rhs, "control": control, "rel_error": (rhs - lhs).norm() / norm,
            "control_rel_error": (control - lhs).norm() / norm}


def lemma1_terms(problem: Lemma1Problem, g: Grid) -> dict[str, Tensor]:
    """The right side's two terms separately at ``theta0``: their values and gradients (``kl``, ``jsd``,
    ``grad_kl``, ``grad_jsd``), to show what each contributes."""
    theta0 = torch.tensor(problem.theta0, dtype=DTYPE)

    def expected_kl(t: Tensor) -> Tensor:
        log_p = conditionals(t, problem, g)
        return sum(0.5 * kl(log_p[y], posterior_log_density(y, problem, theta0, g), g) for y in (0, 1))

    def generator_jsd(t: Tensor) -> Tensor:
        log_p = conditionals(t, problem, g)
        return jsd(log_p[0], log_p[1], g)

    return {"kl": expected_kl(theta0), "jsd": generator_jsd(theta0), "grad_kl": gradient(expected_kl, problem.theta0),
            "grad_jsd": gradient(generator_jsd, problem.theta0)}


def optimal_logit(x: Tensor, problem: Lemma1Problem) -> Tensor:
    """The optimal discriminator's logit at ``theta0``, ``log p_data(x) - log p_g(x)`` (for contrast only)."""
    theta0 = torch.tensor(problem.theta0, dtype=DTYPE)
    return problem.data.log_prob(x) - gaussian_log_prob(x, theta0[0], theta0[1])


def gradient_sweep(problem: Lemma1Problem, g: Grid, means: Sequence[float],
                   delta: Sequence[float] = (0.5, 0.0)) -> dict[str, Tensor]:
    """Lemma 1 at every ``theta0 = (m, log s0)`` for ``m`` in ``means`` (the discriminator held): the left side,
    the right side and the control, each ``(len(means), 2)``."""
    rows = [lemma1_gradients(Lemma1Problem(problem.data, (float(m), problem.theta0[1]), problem.coefficients), g,
                             delta) for m in means]
    return {key: torch.stack([row[key] for row in rows]) for key in ("lhs", "rhs", "control")}


# --- the direction of the KL -------------------------------------------------------------------------------------


def divergence_to_target(theta: Tensor, target: Mixture1D, direction: str, g: Grid) -> Tensor:
    """``KL(target || N(m, s^2))`` (``"forward"``: the VAE's, maximum likelihood's) or ``KL(N(m, s^2) ||
    target)`` (``"reverse"``: the direction of the GAN's KL term), ``theta = (m, log s)``.

    The forward KL integrates over the target on the grid; the reverse KL over the model, in its standardised
    coordinate ``x = m + s t`` with ``t`` on the grid, so that the quadrature follows the model wherever the
    optimiser moves it."""
    if direction == "forward":
        log_target = target.log_prob(g.points)
        return kl(log_target, gaussian_log_prob(g.points, theta[0], theta[1]), g)
    if direction == "reverse":
        log_standard = gaussian_log_prob(g.points, 0.0, 0.0)
        x = theta[0] + theta[1].exp() * g.points
        return integrate(log_standard.exp() * (log_standard - theta[1] - target.log_prob(x)), g)
    raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def fit_gaussian(target: Mixture1D, direction: str, start: tuple[float, float], g: Grid,
                 max_iter: int = 200) -> tuple[float, float, float]:
    """The Gaussian ``N(m, s^2)`` minimising the KL of ``direction`` from ``start = (m, s)``, by L-BFGS (strong
    Wolfe line search) on ``(m, log s)``. Returns ``(m, s, KL at the fit)``."""
    theta = torch.tensor([start[0], math.log(start[1])], dtype=DTYPE, requires_grad=True)
    optimiser = torch.optim.LBFGS([theta], lr=1.0, max_iter=max_iter, tolerance_grad=1e-12,
                                  tolerance_change=1e-15, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimiser.zero_grad()
        value = divergence_to_target(theta, target, direction, g)
        value.backward()
        return value

    optimiser.step(closure)
    with torch.no_grad():
        value = divergence_to_target(theta, target, direction, g)
    theta = theta.detach()
    return float(theta[0]), float(theta[1].exp()), float(value)


def mode_masses(mean: float, sd: float, target: Mixture1D, width: float = 3.0) -> list[float]:
    """The mass ``N(mean, sd^2)`` puts within ``width`` sds of each mode of ``target``."""
    return [gaussian_mass(mean, sd, m - width * s, m + width * s) for m, s in zip(target.means, target.sds,
                                                                                   strict=True)]


def kl_direction_fits(target: Mixture1D, starts: Sequence[tuple[float, float]], g: Grid,
                      max_iter: int = 200) -> dict[str, dict[str, list]]:
    """Both fits from every start: per direction {"mean", "sd", "kl" (lists over starts), "mass" (starts x modes:
    the mass within 3 sds of each mode)}."""
    fits = {}
    for direction in DIRECTIONS:
        rows = [fit_gaussian(target, direction, start, g, max_iter) for start in starts]
        fits[direction] = {"mean": [r[0] for r in rows], "sd": [r[1] for r in rows], "kl": [r[2] for r in rows],
                           "mass": [mode_masses(r[0], r[1], target) for r in rows]}
    return fits
