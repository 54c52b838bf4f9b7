"""phi-divergences and their Fenchel conjugates (seed 001, "The phi-divergences" and "phi-divergences in
practice").

For phi: [0, inf) -> R convex, lower semicontinuous, phi(1) = 0, the phi-divergence is

    D_phi(P, Q) = int phi(p(x) / q(x)) q(x) dx,

and its Fenchel conjugate phi*(v) = sup_{u >= 0} {u v - phi(u)}. Because phi lives on u >= 0, the conjugate
can be flat for very negative slopes (Pearson: phi* = -1 below v = -2; total variation: -1/2 below -1/2).
The variational bound D_phi(P, Q) >= sup_f E_P f - E_Q phi*(f) is tight at f = phi'(p/q).

Each :class:`FDivergence` carries phi, phi', phi*, the domain of phi* (where it is finite), the perspective
q phi(p/q) written in (log p, log q) for stable quadrature, and an output activation mapping R into the
domain of phi* so that any real-valued critic V gives an admissible f = activation(V) (as in f-GAN).
Tensors are float64 throughout; functions act elementwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    name: str
    label: str
    phi: Callable[[Tensor], Tensor]
    phi_prime: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    domain: tuple[float, float]
    """Closed interval (lo, hi) outside of which phi* is +inf (``hi`` may be inf); ``hi`` is excluded when
    phi* blows up there (reverse KL, JS, Hellinger)."""
    perspective: Callable[[Tensor, Tensor], Tensor]
    """(log p, log q) -> q phi(p / q), finite where the integrand is."""
    activation: Callable[[Tensor], Tensor]
    """g: R -> domain of phi*, for critics with real-valued output (f = g(V), as in f-GAN)."""
    conjugate_of_activation: Callable[[Tensor], Tensor]
    """V -> phi*(g(V)) simplified so that it stays finite where g(V) reaches the edge of phi*'s domain."""


def _inf_outside(v: Tensor, values: Tensor, hi: float, closed: bool) -> Tensor:
    outside = v > hi if closed else v >= hi
    return torch.where(outside, torch.full_like(values, math.inf), values)


def _kl() -> FDivergence:
    return FDivergence(
        name="kl",
        label="KL",
        phi=lambda u: torch.special.xlogy(u, u),
        phi_prime=lambda u: 1.0 + torch.log(u),
        conjugate=lambda v: torch.exp(v - 1.0),
        domain=(-math.inf, math.inf),
        perspective=lambda lp, lq: torch.exp(lp) * (lp - lq),
        activation=lambda t: t,
        conjugate_of_activation=lambda t: torch.exp(t - 1.0),
    )


def _reverse_kl() -> FDivergence:
    def conjugate(v: Tensor) -> Tensor:
        safe = torch.clamp(v, max=-1e-300)
        return _inf_outside(v, -1.0 - torch.log(-safe), 0.0, closed=False)

    return FDivergence(
        name="reverse_kl",
        label="reverse KL",
        phi=lambda u: -torch.log(u),
        phi_prime=lambda u: -1.0 / u,
        conjugate=conjugate,
        domain=(-math.inf, 0.0),
        perspective=lambda lp, lq: torch.exp(lq) * (lq - lp),
        activation=lambda t: -torch.exp(-t),
        conjugate_of_activation=lambda t: t - 1.0,
    )


def _jensen_shannon() -> FDivergence:
    # JS(P, Q) = 1/2 KL(P, M) + 1/2 KL(Q, M), M = (P + Q) / 2; at most log 2.
    def phi(u: Tensor) -> Tensor:
        return 0.5 * (torch.special.xlogy(u, u) - (u + 1.0) * torch.log((u + 1.0) / 2.0))

    def conjugate(v: Tensor) -> Tensor:
        hi = 0.5 * LOG2
        safe = torch.clamp(v, max=hi - 1e-12)
        return _inf_outside(v, -0.5 * torch.log(2.0 - torch.exp(2.0 * safe)), hi, closed=False)

    def perspective(lp: Tensor, lq: Tensor) -> Tensor:
        lm = torch.logaddexp(lp, lq) - LOG2
        return 0.5 * (torch.exp(lp) * (lp - lm) + torch.exp(lq) * (lq - lm))

    return FDivergence(
        name="jensen_shannon",
        label="Jensen-Shannon",
        phi=phi,
        phi_prime=lambda u: 0.5 * torch.log(2.0 * u / (u + 1.0)),
        conjugate=conjugate,
        domain=(-math.inf, 0.5 * LOG2),
        perspective=perspective,
        activation=lambda t: 0.5 * (LOG2 - F.softplus(-t)),
        # phi*(g(V)) = -1/2 log(2 - 2 sigmoid(V)) = 1/2 (softplus(V) - log 2)
        conjugate_of_activation=lambda t: 0.5 * (F.softplus(t) - LOG2),
    )


def _pearson() -> FDivergence:
    return FDivergence(
        name="pearson",
        label="Pearson chi^2",
        phi=lambda u: (u - 1.0) ** 2,
        phi_prime=lambda u: 2.0 * (u - 1.0),
        # maximiser u* = 1 + v/2 is admissible only for v >= -2; below, u* = 0 and phi* = -phi(0) = -1
        conjugate=lambda v: torch.where(v >= -2.0, v + v**2 / 4.0, torch.full_like(v, -1.0)),
        domain=(-math.inf, math.inf),
        perspective=lambda lp, lq: torch.expm1(lp - lq) ** 2 * torch.exp(lq),
        activation=lambda t: t,
        conjugate_of_activation=lambda t: torch.where(t >= -2.0, t + t**2 / 4.0, torch.full_like(t, -1.0)),
    )


def _squared_hellinger() -> FDivergence:
    def conjugate(v: Tensor) -> Tensor:
        safe = torch.clamp(v, max=1.0 - 1e-12)
        return _inf_outside(v, safe / (1.0 - safe), 1.0, closed=False)

    return FDivergence(
        name="squared_hellinger",
        label="squared Hellinger",
        phi=lambda u: (torch.sqrt(u) - 1.0) ** 2,
        phi_prime=lambda u: 1.0 - 1.0 / torch.sqrt(u),
        conjugate=conjugate,
        domain=(-math.inf, 1.0),
        perspective=lambda lp, lq: (torch.exp(0.5 * lp) - torch.exp(0.5 * lq)) ** 2,
        activation=lambda t: 1.0 - torch.exp(-t),
        conjugate_of_activation=lambda t: torch.expm1(t),
    )


def _total_variation() -> FDivergence:
    def conjugate(v: Tensor) -> Tensor:
        return _inf_outside(v, torch.clamp(v, min=-0.5), 0.5, closed=True)

    return FDivergence(
        name="total_variation",
        label="total variation",
        phi=lambda u: 0.5 * torch.abs(u - 1.0),
        phi_prime=lambda u: 0.5 * torch.sign(u - 1.0),
        conjugate=conjugate,
        domain=(-math.inf, 0.5),
        perspective=lambda lp, lq: 0.5 * torch.abs(torch.exp(lp) - torch.exp(lq)),
        activation=lambda t: 0.5 * torch.tanh(t),
        conjugate_of_activation=lambda t: 0.5 * torch.tanh(t),
    )


DIVERGENCES: dict[str, FDivergence] = {
    d.name: d for d in (_kl(), _reverse_kl(), _jensen_shannon(), _pearson(), _squared_hellinger(), _total_variation())
}


def get(name: str) -> FDivergence:
    try:
        return DIVERGENCES[name]
    except KeyError:
        raise KeyError(f"unknown f-divergence {name!r}; known: {sorted(DIVERGENCES)}") from None


def numerical_conjugate(phi: Callable[[Tensor], Tensor], v: Tensor, u_max: float, n_grid: int) -> Tensor:
    """phi*(v) = sup_{0 <= u <= u_max} u v - phi(u), by a grid search refined with golden-section search.

    v: (V,) -> (V,). Exact up to ~1e-12 where the maximiser lies inside [0, u_max]; a lower bound otherwise.
    """
    u = torch.linspace(0.0, u_max, n_grid, dtype=torch.float64)
    phi_u = phi(u)
    values = torch.empty_like(v)
    step = u_max / (n_grid - 1)
    for i, slope in enumerate(v):
        objective = u * slope - phi_u
        best = int(torch.argmax(torch.nan_to_num(objective, nan=-math.inf)))
        lo, hi = max(u[best].item() - step, 0.0), min(u[best].item() + step, u_max)
        values[i] = _golden_max(lambda x, s=slope: x * s - phi(x), lo, hi)
    return values


def numerical_biconjugate(conjugate: Callable[[Tensor], Tensor], x: Tensor, v_lo: float, v_hi: float,
                          n_grid: int) -> Tensor:
    """phi**(x) = sup_{v_lo <= v <= v_hi} x v - phi*(v) by grid plus golden-section search. x: (X,) -> (X,)."""
    v = torch.linspace(v_lo, v_hi, n_grid, dtype=torch.float64)
    conj_v = conjugate(v)
    values = torch.empty_like(x)
    step = (v_hi - v_lo) / (n_grid - 1)
    for i, point in enumerate(x):
        best = int(torch.argmax(point * v - conj_v))
        lo, hi = max(v[best].item() - step, v_lo), min(v[best].item() + step, v_hi)
        values[i] = _golden_max(lambda s, p=point: p * s - conjugate(s), lo, hi)
    return values


def _golden_max(f: Callable[[Tensor], Tensor], lo: float, hi: float, iterations: int = 80) -> Tensor:
    """Maximum of a concave scalar function on [lo, hi] by golden-section search (also checks the ends)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    for _ in range(iterations):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        fc = f(torch.tensor(c, dtype=torch.float64))
        fd = f(torch.tensor(d, dtype=torch.float64))
        if fc >= fd:
            b = d
        else:
            a = c
    candidates = torch.stack([f(torch.tensor(x, dtype=torch.float64)) for x in (lo, 0.5 * (a + b), hi)])
    return torch.max(torch.nan_to_num(candidates, nan=-math.inf))


def tangent_intercept(phi: Callable[[Tensor], Tensor], phi_prime: Callable[[Tensor], Tensor],
                      u0: Tensor) -> tuple[Tensor, Tensor]:
    """Slope v = phi'(u0) of the tangent to phi at u0 and its intercept phi(u0) - v u0 (= -phi*(v))."""
    slope = phi_prime(u0)
    return slope, phi(u0) - slope * u0
