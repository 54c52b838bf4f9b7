"""The RKHS-penalised KALE, the "KALE smoothie" (seed 001, slide "The KALE divergence"), solved exactly.

Notation (one symbol each): P = sum_i w_i delta_{x_i}, Q = sum_j v_j delta_{y_j} (samples with w_i = 1/n,
v_j = 1/m, or quadrature nodes with weights); k(x, x') = exp(-|x - x'|^2 / (2 sigma^2)) a Gaussian kernel with
RKHS H; lambda > 0 the penalty. The penalised problem is

    F_lambda(P, Q) = sup_{f in H}  J(f),   J(f) = -sum_i w_i f(x_i) - sum_j v_j exp(-f(y_j)) + 1 - lambda/2 |f|_H^2.

**Representer theorem.** Writing exp(-u) = max_{a >= 0} {-a u - a log a + a} for each y_j (a = v_j^{-1} alpha_j)
turns J into a saddle problem, concave in f and convex in alpha >= 0. The inner sup over f is attained at

    f_alpha = (1/lambda) (sum_j alpha_j k(y_j, .) - sum_i w_i k(x_i, .)),                          (R)

so the optimal critic lies in the span of the kernels at the n + m points, with the P-coefficients fixed at
-w_i / lambda and only the m Q-coefficients alpha free. Substituting (R) gives the dual

    D(alpha) = sum_j (alpha_j log(alpha_j / v_j) - alpha_j) + 1
               + 1/(2 lambda) (alpha^T K_yy alpha - 2 alpha^T K_yx w + w^T K_xx w),   alpha > 0,   (D)

smooth and strictly convex on the open orthant (entropy plus a PSD quadratic), with F_lambda = min D. At the
optimum alpha_j = v_j exp(-f_alpha(y_j)), so alpha > 0 automatically. For any alpha > 0, J(f_alpha) <= F_lambda
<= D(alpha): the duality gap D(alpha) - J(f_alpha) >= 0 certifies how far an iterate is from the optimum.

**Newton.** grad D = log(alpha / v) + (K_yy alpha - K_yx w) / lambda, Hess D = diag(1/alpha) + K_yy / lambda.
Damped Newton with a backtracking (Armijo) line search that first shrinks the step until alpha stays positive.

**Scaling.** As lambda -> inf, alpha -> v and (1 + lambda) F_lambda -> MMD^2(P, Q) / 2 (squared MMD of the
same kernel); as lambda -> 0, F_lambda -> sup over all of H, which is KL on a common quadrature grid (and
+inf for distinct sample points: the unpenalised supremum over a universal RKHS overfits samples).
:attr:`SmoothieResult.value` is the scaled (1 + lambda) F_lambda, the normalisation of Glaser, Arbel &
Gretton (KALE flow, NeurIPS 2021), so that it interpolates between KL and MMD^2/2.

**Failures.** Nodes of zero weight are dropped before solving; a solve whose duality gap is not certified (above
``gap_tol`` or not finite, after the L-BFGS fallback) raises :class:`SolverError` instead of returning a value.
:class:`Smoothie` fixes the bandwidth (and a default penalty) and keeps every solve's gap, a notebook's certificate.

References: Arbel, Liang & Gretton, ICLR 2021 (KALE); Glaser, Arbel & Gretton, NeurIPS 2021 (KALE flow).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import minimize

from latentebm.divergences.variational import Measure, kale_bound


def gaussian_kernel(a: torch.Tensor, b: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """k(a_i, b_j) = exp(-|a_i - b_j|^2 / (2 sigma^2)); a: (n, d), b: (m, d) -> (n, m)."""
    return torch.exp(-torch.cdist(a, b).square() / (2.0 * bandwidth**2))


class SolverError(RuntimeError):
    """The smoothie's solve did not reach a certified optimum (duality gap above tolerance, or not finite):
    there is no number to return. The message gives lambda, the bandwidth, the sizes and the gap reached."""


@dataclass
class RKHSCritic:
    """f_alpha of (R), callable on new points: x (B, d) -> (B,)."""

    x: torch.Tensor
    w: torch.Tensor
    y: torch.Tensor
    alpha: torch.Tensor
    lam: float
    bandwidth: float

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        k_y = gaussian_kernel(points, self.y, self.bandwidth)
        k_x = gaussian_kernel(points, self.x, self.bandwidth)
        return (k_y @ self.alpha - k_x @ self.w) / self.lam


@dataclass
class NewtonRecord:
    """Convergence record: one entry per Newton iteration (dual value, Newton decrement^2/2, step length)."""

    converged: bool = False
    iterations: int = 0
    dual: list[float] = field(default_factory=list)
    decrement: list[float] = field(default_factory=list)
    step: list[float] = field(default_factory=list)
    duality_gap: float = math.nan
    solver: str = "newton"
    message: str = ""


@dataclass
class SmoothieResult:
    """``value`` = (1 + lambda) F_lambda (see module docstring); ``penalised`` = F_lambda = J(f_alpha);
    ``kale`` = the unpenalised -E_P f - E_Q exp(-f) + 1 at the fitted critic; ``critic`` = f_alpha."""

    value: float
    penalised: float
    kale: float
    rkhs_norm2: float
    critic: RKHSCritic
    record: NewtonRecord


class _Problem:
    """The dual (D) and the primal J at f_alpha, on precomputed Gram matrices."""

    def __init__(self, p: Measure, q: Measure, lam: float, bandwidth: float) -> None:
        self.lam = lam
        self.w, self.v = p.probabilities(), q.probabilities()
        self.k_yy = gaussian_kernel(q.points, q.points, bandwidth)
        self.k_yx_w = gaussian_kernel(q.points, p.points, bandwidth) @ self.w
        k_xx = gaussian_kernel(p.points, p.points, bandwidth)
        self.k_xx_w = k_xx @ self.w
        self.w_k_w = float(self.w @ self.k_xx_w)
        self.k_xy = gaussian_kernel(p.points, q.points, bandwidth)

    def quadratic(self, alpha: torch.Tensor) -> float:
        """|sum alpha_j k(y_j,.) - sum w_i k(x_i,.)|_H^2 = lambda^2 |f_alpha|_H^2."""
        return float(alpha @ self.k_yy @ alpha - 2 * alpha @ self.k_yx_w + self.w_k_w)

    def dual(self, alpha: torch.Tensor) -> float:
        entropy = torch.sum(alpha * torch.log(alpha / self.v) - alpha).item()
        return entropy + 1.0 + self.quadratic(alpha) / (2 * self.lam)

    def gradient(self, alpha: torch.Tensor) -> torch.Tensor:
        return torch.log(alpha / self.v) + (self.k_yy @ alpha - self.k_yx_w) / self.lam

    def primal(self, alpha: torch.Tensor) -> tuple[float, float, float]:
        """(J(f_alpha), unpenalised KALE objective at f_alpha, |f_alpha|_H^2)."""
        f_y = (self.k_yy @ alpha - self.k_yx_w) / self.lam
        f_x = (self.k_xy @ alpha - self.k_xx_w) / self.lam
        kale = float(kale_bound(f_x, f_y, 0.0, self.w, self.v))
        norm2 = self.quadratic(alpha) / self.lam**2
        return kale - 0.5 * self.lam * norm2, kale, norm2


def _newton_direction(problem: _Problem, alpha: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Solve (diag(1/alpha) + K/lambda) d = -g through the better-conditioned I + A^1/2 K A^1/2 / lambda."""
    root = alpha.sqrt()
    identity = torch.eye(len(alpha), dtype=alpha.dtype, device=alpha.device)
    scaled = identity + root[:, None] * problem.k_yy * root[None, :] / problem.lam
    chol = torch.linalg.cholesky(scaled)
    return -root * torch.cholesky_solve((root * g).unsqueeze(-1), chol).squeeze(-1)


def _newton(problem: _Problem, alpha: torch.Tensor, max_iter: int, tol: float, record: NewtonRecord,
            armijo: float = 1e-4, shrink: float = 0.5) -> torch.Tensor:
    """Damped Newton on (D) from ``alpha``; stops when decrement^2 / 2 < tol (then D - min D <~ tol)."""
    value = problem.dual(alpha)
    for iteration in range(1, max_iter + 1):
        g = problem.gradient(alpha)
        try:
            d = _newton_direction(problem, alpha, g)
        except torch.linalg.LinAlgError as error:
            record.message = f"Newton system not solvable at iteration {iteration} ({error})"
            return alpha
        decrement2 = float(-(g @ d))
        record.iterations = iteration
        record.dual.append(value)
        record.decrement.append(0.5 * decrement2)
        if 0.5 * decrement2 < tol:
            record.converged = True
            record.step.append(0.0)
            return alpha
        t = 1.0
        negative = d < 0
        if negative.any():  # the largest step keeping alpha > 0, with a margin
            t = min(1.0, 0.99 * float(torch.min(-alpha[negative] / d[negative])))
        while t > 1e-16:
            candidate = alpha + t * d
            candidate_value = problem.dual(candidate)
            if candidate_value <= value - armijo * t * decrement2:
                break
            t *= shrink
        else:
            record.message = f"line search failed at Newton iteration {iteration}"
            return alpha
        record.step.append(t)
        alpha, value = candidate, candidate_value
    record.message = f"Newton did not reach decrement^2/2 < {tol:g} in {max_iter} iterations"
    return alpha


def _lbfgs_fallback(problem: _Problem, alpha: torch.Tensor, record: NewtonRecord) -> torch.Tensor:
    """Minimise (D) over beta = log alpha (unconstrained) with scipy's L-BFGS, from the last Newton iterate."""

    def fun(beta: np.ndarray) -> tuple[float, np.ndarray]:
        a = torch.from_numpy(np.exp(beta)).to(alpha.device)
        return problem.dual(a), (problem.gradient(a) * a).cpu().numpy()

    result = minimize(fun, torch.log(alpha).cpu().numpy(), jac=True, method="L-BFGS-B",
                      options={"maxiter": 10000, "ftol": 1e-15, "gtol": 1e-10})
    record.solver = "newton, then L-BFGS fallback"
    return torch.from_numpy(np.exp(result.x)).to(alpha.device)


def _certified(gap: float, tol: float) -> bool:
    """A duality gap certifies the solve when it is finite and within ``tol`` (a NaN gap certifies nothing)."""
    return math.isfinite(gap) and gap <= tol


def kale_smoothie(p: Measure, q: Measure, lam: float, bandwidth: float = 1.0, max_iter: int = 100,
                  tol: float = 1e-12, gap_tol: float = 1e-8, init: torch.Tensor | None = None) -> SmoothieResult:
    """The KALE smoothie F_lambda(P, Q) by damped Newton on the dual (D); see the module docstring.

    p.points: (n, d), q.points: (m, d) (float64 recommended). Nodes of zero weight are dropped first (they carry
    no mass; a zero v_j would put log 0 in (D)). If Newton stops without converging, or its duality gap exceeds
    ``gap_tol``, the solve falls back to L-BFGS on log alpha and a RuntimeWarning says so; if the gap is still
    above ``gap_tol`` (or not finite) it raises :class:`SolverError`: a failed solve never returns a number.
    ``init`` (positive, one entry per node of ``q``) warm-starts Newton, e.g. from the previous step of a flow;
    the optimum and its certificate do not depend on it.
    """
    if not lam > 0 or not math.isfinite(lam):
        raise ValueError(f"the penalty lambda must be finite and > 0, got {lam}")
    if not bandwidth > 0 or not math.isfinite(bandwidth):
        raise ValueError(f"the bandwidth must be finite and > 0, got {bandwidth}")
    p, q = p.positive(), q.positive()
    problem = _Problem(p, q, lam, bandwidth)
    record = NewtonRecord()
    start = problem.v.clone()
    if init is not None:
        if init.shape != start.shape or not bool((init > 0).all()):
            raise ValueError(f"init must hold {start.shape[0]} positive coefficients, got shape {tuple(init.shape)}")
        start = init.to(start).clone()
    alpha = _newton(problem, start, max_iter, tol, record)
    penalised, kale, norm2 = problem.primal(alpha)
    record.duality_gap = problem.dual(alpha) - penalised
    if not record.converged or not _certified(record.duality_gap, gap_tol):
        reason = record.message or f"duality gap {record.duality_gap:.2e} > {gap_tol:g}"
        alpha = _lbfgs_fallback(problem, alpha, record)
        penalised, kale, norm2 = problem.primal(alpha)
        record.duality_gap = problem.dual(alpha) - penalised
        record.message = f"{reason}; fell back to L-BFGS on log alpha, duality gap now {record.duality_gap:.2e}"
        if not _certified(record.duality_gap, gap_tol):
            raise SolverError(f"KALE smoothie (lambda={lam:g}, bandwidth={bandwidth:g}, n={p.points.shape[0]}, "
                              f"m={q.points.shape[0]}) failed: {record.message}, above gap_tol={gap_tol:g}")
        warnings.warn(f"KALE smoothie (lambda={lam:g}): {record.message}", RuntimeWarning, stacklevel=2)
    critic = RKHSCritic(p.points, problem.w, q.points, alpha, lam, bandwidth)
    return SmoothieResult(value=(1 + lam) * penalised, penalised=penalised, kale=kale, rkhs_norm2=norm2,
                          critic=critic, record=record)


@dataclass
class Smoothie:
    """The smoothie at a fixed kernel ``bandwidth`` (and default ``penalty``), keeping the duality gap of every
    solve in ``gaps`` so that a notebook can report the largest one as its certificate.

    ``device`` (optional) is where the points are moved before solving.
    """

    bandwidth: float
    penalty: float | None = None
    device: torch.device | str | None = None
    gaps: list[float] = field(default_factory=list)

    def __call__(self, p: Measure, q: Measure, lam: float | None = None) -> SmoothieResult:
        """:func:`kale_smoothie` of ``p`` against ``q`` at ``lam`` (default: ``penalty``)."""
        lam = self.penalty if lam is None else lam
        if lam is None:
            raise ValueError("no penalty given and no default penalty set")
        if self.device is not None:
            p, q = (Measure(m.points.to(self.device), None if m.weights is None else m.weights.to(self.device))
                    for m in (p, q))
        result = kale_smoothie(p, q, lam, self.bandwidth)
        self.gaps.append(result.record.duality_gap)
        return result

    def of_samples(self, x: torch.Tensor, y: torch.Tensor, lam: float | None = None) -> float:
        """(1 + lambda) F_lambda between the empirical measures of x: (n, d) and y: (m, d)."""
        return self(Measure(x), Measure(y), lam).value

    @property
    def max_gap(self) -> float:
        """The largest |duality gap| over the solves so far (NaN before any)."""
        return max((abs(g) for g in self.gaps), default=math.nan)
