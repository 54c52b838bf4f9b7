"""Training as KL(q || p) between two joints (seed 003, Bachman & Precup), on models small enough to enumerate.

The inference joint takes the data in: ``q(x, tau) = D(x) q(tau|x)``; the generation joint is ``p(x, tau)``.
The chain rule of KL,

    KL(q(x, tau) || p(x, tau)) = KL(q(x) || p(x)) + E_q(x) KL(q(tau|x) || p(tau|x)) >= KL(q(x) || p(x)),

turns any such joint objective into a bound on ``E_D[-log p(x)]`` once the data's entropy is added back. Here every
distribution is a table of probabilities (float64), so each side is a finite sum and the identities hold to
round-off:

- :func:`chain_rule`: the three terms for joint tables ``(X, T)`` (tau flattened);
- :func:`vae_joint` : the VAE's joint KL against its per-example ELBO;
- :func:`dae_joint`: the denoising auto-encoder, whose prior is the aggregated encoder ``p(z) = E_D q(z|x)``: its
  joint KL is ``E_q(z) KL(q(x|z) || p(x|z))``, reconstruction error minus the conditional entropy ``H_q(X|Z)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def kl_tables(q: Tensor, p: Tensor) -> Tensor:
    """``sum q log(q / p)`` over every axis of two probability tables of one shape (``0 log 0 = 0``)."""
    terms = torch.where(q > 0, q * (q.log() - p.log()), torch.zeros_like(q))
    return terms.sum()


def entropy(p: Tensor) -> Tensor:
    """``-sum p log p`` over every axis (``0 log 0 = 0``)."""
    return -torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum()


@dataclass(frozen=True)
class ChainRule:
    """The chain rule's terms (nats): the joint KL, the marginal KL, the expected conditional KL, and the two sides
    of the bound ``KL_joint - E_q log q(x) >= E_q[-log p(x)]``."""

    joint: float
    marginal: float
    conditional: float
    bound: float
    neg_log_likelihood: float

    @property
    def gap(self) -> float:
        """``|joint - (marginal + conditional)|``: zero up to round-off."""
        return abs(self.joint - self.marginal - self.conditional)


def chain_rule(q_joint: Tensor, p_joint: Tensor) -> ChainRule:
    """The chain rule for joints ``(X, T)`` over x (rows) and every latent configuration tau (columns)."""
    q_x, p_x = q_joint.sum(1), p_joint.sum(1)
    q_cond, p_cond = q_joint / q_x[:, None], p_joint / p_x[:, None]
    conditional = sum(q_x[i] * kl_tables(q_cond[i], p_cond[i]) for i in range(len(q_x)))
    joint = kl_tables(q_joint, p_joint)
    return ChainRule(joint=float(joint), marginal=float(kl_tables(q_x, p_x)), conditional=float(conditional),
                     bound=float(joint - (q_x * q_x.log()).sum()),
                     neg_log_likelihood=float(-(q_x * p_x.log()).sum()))


def posterior_mixture(q_cond: Tensor, p_cond: Tensor, lam: float) -> Tensor:
    """``q_lam(tau|x) ∝ q(tau|x)^(1-lam) p(tau|x)^lam`` row by row, ``(X, T)``: lam = 0 the inference model, 1 the
    exact posterior (where the conditional KL vanishes)."""
    log = (1 - lam) * q_cond.log() + lam * p_cond.log()
    return torch.softmax(log, dim=1)


def vae_joint(data: Tensor, encoder: Tensor, prior: Tensor, decoder: Tensor) -> dict[str, float]:
    """A discrete VAE: ``data (X,)``, ``encoder q(z|x) (X, Z)``, ``prior p(z) (Z,)``, ``decoder p(x|z) (Z, X)``.

    Returns the joint KL, ``-H(D) - E_D ELBO(x)`` (equal to it), and ``KL(D || p(x)) + E_D KL(q(z|x) || p(z|x))``
    (equal again), with the per-example ELBO ``sum_z q(z|x) [log p(x|z) + log p(z) - log q(z|x)]``."""
    q = data[:, None] * encoder
    p = (prior[:, None] * decoder).T  # (X, Z)
    elbo = (encoder * (decoder.T.log() + prior.log() - encoder.log())).sum(1)
    parts = chain_rule(q, p)
    return {"joint": parts.joint, "elbo_form": float(-entropy(data) - (data * elbo).sum()),
            "chain_form": parts.marginal + parts.conditional}


def aggregated_prior(data: Tensor, encoder: Tensor) -> Tensor:
    """``p(z) = E_D q(z|x) = sum_x D(x) q(z|x)``, ``(Z,)``."""
    return data @ encoder


def dae_joint(data: Tensor, encoder: Tensor, decoder: Tensor) -> dict[str, Tensor]:
    """The DAE's joint KL with the aggregated prior, as tensors (differentiable in ``encoder`` and ``decoder``).

    ``data (X,)``, ``encoder q(z|x) (X, Z)``, ``decoder p(x|z) (Z, X)``. Returns ``joint`` = KL(q(x, z) ||
    p(z) p(x|z)); ``expected_conditional`` = E_q(z) KL(q(x|z) || p(x|z)) (equal to it); ``reconstruction`` =
    E_q[-log p(x|z)]; ``conditional_entropy`` = H_q(X|Z) (so joint = reconstruction - conditional_entropy)."""
    q = data[:, None] * encoder  # (X, Z)
    q_z = aggregated_prior(data, encoder)
    p = (q_z[:, None] * decoder).T
    q_x_given_z = (q / q_z[None, :]).T  # (Z, X)
    expected = sum(q_z[j] * kl_tables(q_x_given_z[j], decoder[j]) for j in range(len(q_z)))
    return {"joint": kl_tables(q, p), "expected_conditional": expected,
            "reconstruction": -(q * decoder.T.log()).sum(), "conditional_entropy": entropy(q) - entropy(q_z)}


def random_table(shape: tuple[int, ...], rng: torch.Generator, spread: float = 1.5) -> Tensor:
    """A random conditional table: softmax over the last axis of N(0, spread^2) logits (float64, every entry > 0)."""
    return torch.softmax(spread * torch.randn(shape, generator=rng, dtype=torch.float64), dim=-1)
