"""Figures of notebook 17 (the joint-KL view, seed 003): arrays in, Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentebm.plotting.style import finish, new_figure


def chain_rule(lams: Sequence[float], joint: Sequence[float], marginal: Sequence[float],
               conditional: Sequence[float]) -> Figure:
    """The chain rule's three terms as the inference model moves to the exact posterior (lam 0 -> 1): the joint
    KL, stacked from the marginal KL (flat: q(tau|x) does not touch it) and the expected conditional KL."""
    figure, ax = new_figure(width=4.6, height=3.0)
    lams, marginal, conditional = np.asarray(lams), np.asarray(marginal), np.asarray(conditional)
    ax.fill_between(lams, 0, marginal, color="C0", alpha=0.35, label="KL(q(x) || p(x))")
    ax.fill_between(lams, marginal, marginal + conditional, color="C1", alpha=0.35,
                    label="E_q(x) KL(q(tau|x) || p(tau|x))")
    ax.plot(lams, joint, "k.", ms=4, label="KL(q(x, tau) || p(x, tau))")
    ax.set_xlabel("lam: q_lam(tau|x) ∝ q(tau|x)^(1-lam) p(tau|x)^lam")
    ax.set_ylabel("nats")
    ax.legend(fontsize=7)
    return finish(figure)


def iw_bound(ks: Sequence[int], gap: Sequence[float], gap_se: Sequence[float], overshoot: Sequence[float]) -> Figure:
    """Left: log p(x) - L_k against k (log-log) with its standard error and a 1/k line through the last point.
    Right: the seed's version (no 1/k) minus log p(x), against log k (its ceiling)."""
    figure, (left, right) = new_figure(1, 2, width=3.6, height=3.0)
    ks, gap, gap_se = np.asarray(ks, dtype=float), np.asarray(gap), np.asarray(gap_se)
    left.errorbar(ks, gap, yerr=2 * gap_se, fmt="o-", ms=3, color="C0", label="log p(x) - L_k (±2 se)")
    left.plot(ks, gap[-1] * ks[-1] / ks, "--", color="0.5", label="∝ 1/k")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("k")
    left.set_ylabel("nats")
    left.legend(fontsize=7)
    right.plot(ks, overshoot, "o-", ms=3, color="C3", label="log sum_i w_i - log p(x) (the seed's bound)")
    right.plot(ks, np.log(ks), "--", color="0.5", label="log k")
    right.axhline(0, color="k", lw=0.6)
    right.set_xscale("log")
    right.set_xlabel("k")
    right.legend(fontsize=7)
    return finish(figure)


def iwae_table(ks: Sequence[int], nll: Mapping[str, np.ndarray], paper: Mapping[str, Sequence[float]],
               units: Mapping[str, np.ndarray]) -> Figure:
    """Test NLL against k for each objective (``nll[name]`` (seeds, len(ks)): points per seed, line = mean);
    the paper's table beside it (other data: compare directions); active units per seed."""
    figure, axes = new_figure(1, 3, width=3.2, height=3.0)
    for i, (name, values) in enumerate(nll.items()):
        values = np.asarray(values)
        for row in values:
            axes[0].plot(ks, row, ".", color=f"C{i}", alpha=0.5)
        axes[0].plot(ks, values.mean(0), "-", color=f"C{i}", label=name)
        axes[1].plot(ks, paper[name], "o-", color=f"C{i}", label=name)
        unit_values = np.asarray(units[name])
        axes[2].plot(np.asarray(ks)[None, :].repeat(len(unit_values), 0).ravel() * (1 + 0.05 * i),
                     unit_values.ravel(), "o", color=f"C{i}", alpha=0.6, label=name)
    for ax, title in zip(axes, ("test NLL here (digits 8x8)", "Burda et al. table 1 (MNIST)", "active units"),
                         strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("k")
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("nats")
    return finish(figure)
