"""The MMD witness and its gradient in closed form for a Gaussian kernel, and the objective of the MMD flow.

Notation (Arbel, Korba, Salim & Gretton, NeurIPS 2019): mu = (1/n) sum_i delta_{x_i} the target, nu =
(1/m) sum_j delta_{y_j} the particles, k(a, b) = exp(-|a - b|^2 / (2 sigma^2)). The flow minimises

    F(nu) = 1/2 MMD^2(mu, nu) = int V dnu + 1/2 int int W dnu dnu + C,
    V(z) = -int k(z, x) dmu(x)  (potential: attraction to the target),  W(z, z') = k(z, z')  (interaction:
    repulsion between particles),  C = 1/2 int int k dmu dmu,

whose first variation is the (unnormalised) witness

    f_{mu,nu}(z) = int k(z, y) dnu(y) - int k(z, x) dmu(x),
    grad f_{mu,nu}(z) = int (y - z) / sigma^2 k(z, y) dnu(y) - int (x - z) / sigma^2 k(z, x) dmu(x).

The particles follow dY/dt = -grad f_{mu,nu_t}(Y), and along the flow dF/dt = -int |grad f_{mu,nu_t}|^2 dnu_t
(the dissipation).

**Descent lemma.** If grad_1 k is L-Lipschitz (|grad_1 k(a, b) - grad_1 k(a', b')| <= L (|a - a'| + |b - b'|)),
one Euler step nu_{n+1} = (I - gamma grad f_{mu,nu_n}) # nu_n satisfies

    F(nu_{n+1}) <= F(nu_n) - gamma (1 - 3/2 gamma L) int |grad f_{mu,nu_n}|^2 dnu_n,

an inequality for every gamma that guarantees descent only for gamma < 2 / (3L). For the Gaussian kernel
grad_1 k(a, b) = g(a - b) with g(r) = -r / sigma^2 exp(-|r|^2 / (2 sigma^2)), whose Jacobian has eigenvalues
-(1/sigma^2) e^{-s} and -(1/sigma^2) e^{-s} (1 - 2s), s = |r|^2 / (2 sigma^2); their largest modulus is 1/sigma^2
(at r = 0), so L = 1/sigma^2.

Everything here is an exact computation on the empirical measures (float64 recommended).
"""

from __future__ import annotations

import torch

from latentebm.divergences.kale_rkhs import gaussian_kernel


def kernel_gradient(z: torch.Tensor, a: torch.Tensor, weights: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """grad_z sum_j weights_j k(z, a_j) for z: (B, d), a: (m, d), weights: (m,) -> (B, d), in closed form."""
    k = gaussian_kernel(z, a, bandwidth) * weights  # (B, m)
    return -(z * k.sum(dim=1, keepdim=True) - k @ a) / bandwidth**2


def _uniform(points: torch.Tensor) -> torch.Tensor:
    return torch.full((points.shape[0],), 1.0 / points.shape[0], dtype=points.dtype, device=points.device)


def witness(z: torch.Tensor, x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """f_{mu,nu}(z) = mean_j k(z, y_j) - mean_i k(z, x_i), mu the target x: (n, d), nu the particles y: (m, d)."""
    return gaussian_kernel(z, y, bandwidth).mean(dim=1) - gaussian_kernel(z, x, bandwidth).mean(dim=1)


def witness_gradient(z: torch.Tensor, x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """grad f_{mu,nu}(z): (B, d), in closed form (see the module docstring)."""
    return kernel_gradient(z, y, _uniform(y), bandwidth) - kernel_gradient(z, x, _uniform(x), bandwidth)


def energy(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> float:
    """F(nu) = 1/2 MMD^2(mu, nu), the V-statistic of the two empirical measures (exact for them)."""
    k = lambda a, b: gaussian_kernel(a, b, bandwidth).mean()  # noqa: E731
    return float(0.5 * (k(x, x) + k(y, y) - 2 * k(x, y)))


def energy_terms(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> dict[str, float]:
    """F split as potential int V dnu, interaction 1/2 int int W dnu dnu and the constant C (they sum to F)."""
    k = lambda a, b: gaussian_kernel(a, b, bandwidth).mean()  # noqa: E731
    return {"potential": float(-k(y, x)), "interaction": float(0.5 * k(y, y)), "constant": float(0.5 * k(x, x))}


def dissipation(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> float:
    """int |grad f_{mu,nu}|^2 dnu = -dF/dt along the flow, at the particles y."""
    return float(witness_gradient(y, x, y, bandwidth).square().sum(dim=1).mean())


def lipschitz_constant(bandwidth: float) -> float:
    """L of grad_1 k for the Gaussian kernel: 1 / sigma^2 (module docstring)."""
    return 1.0 / bandwidth**2


def descent_bound(step: float, lipschitz: float, dissipation_n: float) -> float:
    """gamma (1 - 3/2 gamma L) int |grad f|^2 dnu_n: the decrease of F the lemma guarantees (negative above
    gamma = 2 / (3L), where it guarantees none)."""
    return step * (1.0 - 1.5 * step * lipschitz) * dissipation_n


def largest_safe_step(lipschitz: float) -> float:
    """2 / (3L): below it every Euler step decreases F."""
    return 2.0 / (3.0 * lipschitz)
