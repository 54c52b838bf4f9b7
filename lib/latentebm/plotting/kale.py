"""Figures of notebooks 02 (KALE and the KALE smoothie) and 03 (topology of KALE)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from latentebm.plotting.style import finish, new_figure


def critics_over_samples(grid: np.ndarray, panels: Sequence[Mapping]) -> Figure:
    """One panel per (pair, direction): histograms of the P and Q samples and the fitted critics on ``grid``.

    Each panel: {"title", "x_p": (n,), "x_q": (m,), "critics": {label: (G,)}}.
    """
    n_cols = 2
    figure, axes = new_figure((len(panels) + 1) // n_cols, n_cols, width=4.2, height=3.0)
    for ax, panel in zip(np.ravel(axes), panels, strict=False):
        bins = np.linspace(grid[0], grid[-1], 50)
        ax.hist(panel["x_p"], bins=bins, density=True, color="C0", alpha=0.35, label="samples of the 1st argument")
        ax.hist(panel["x_q"], bins=bins, density=True, color="C1", alpha=0.35, label="samples of the 2nd argument")
        ax.set_yticks([])
        twin = ax.twinx()
        for i, (label, values) in enumerate(panel["critics"].items()):
            twin.plot(grid, values, color=("k", "C3", "C2")[i], lw=1.5, ls=("-", "--", ":")[i], label=label)
        twin.axhline(0.0, color="grey", lw=0.5)
        twin.set_ylabel("critic f(x)", fontsize=8)
        ax.set_title(panel["title"], fontsize=9)
        ax.set_xlabel("x")
    first = np.ravel(axes)[0]
    first.legend(fontsize=7, loc="upper left")
    figure.axes[-1].legend(fontsize=7, loc="upper right")
    return finish(figure)


def values_by_penalty(penalties: np.ndarray, forward: np.ndarray, backward: np.ndarray, kl_forward: float,
                      kl_backward: float, labels: tuple[str, str]) -> Figure:
    """KALE smoothie in both directions against lambda, with the two KLs as dashed lines."""
    figure, ax = new_figure(width=4.6, height=3.3)
    ax.plot(penalties, forward, "o-", color="C0", label=labels[0])
    ax.plot(penalties, backward, "s-", color="C1", label=labels[1])
    ax.axhline(kl_forward, color="C0", ls="--", lw=1, label=f"KL, first direction ({kl_forward:.2f})")
    ax.axhline(kl_backward, color="C1", ls="--", lw=1, label=f"KL, second direction ({kl_backward:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"penalty $\lambda$")
    ax.set_ylabel(r"$(1+\lambda)\,$KALE$_\lambda$")
    ax.legend(fontsize=7)
    return finish(figure)


def penalty_sweep(penalties: np.ndarray, curves: Mapping[str, np.ndarray], kl: float, half_mmd2: float) -> Figure:
    """(1 + lambda) KALE_lambda against lambda for each curve, beside KL and MMD^2 / 2 computed independently."""
    figure, ax = new_figure(width=5.2, height=3.6)
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(penalties, values, "os"[i % 2] + "-", color=f"C{i}", ms=4, label=label)
    ax.axhline(kl, color="k", ls="--", lw=1, label=f"KL(P, Q) = {kl:.3f} (closed form)")
    ax.axhline(half_mmd2, color="C3", ls=":", lw=1.5, label=f"MMD$^2$/2 = {half_mmd2:.3f} (closed form)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"penalty $\lambda$")
    ax.set_ylabel(r"$(1+\lambda)\,$KALE$_\lambda(P, Q)$")
    ax.legend(fontsize=7)
    return finish(figure)


def error_against_n(n: np.ndarray, errors: Mapping[str, np.ndarray], ylabel: str) -> Figure:
    """Median and 10-90% band over seeds of estimate - reference against n; errors[name]: (S, N)."""
    figure, (left, right) = new_figure(1, 2, width=4.0, height=3.2)
    for i, (name, err) in enumerate(errors.items()):
        lo, mid, hi = np.quantile(err, [0.1, 0.5, 0.9], axis=0)
        left.plot(n, mid, "o-", color=f"C{i}", label=name)
        left.fill_between(n, lo, hi, color=f"C{i}", alpha=0.2)
        right.loglog(n, np.sqrt(np.mean(err**2, axis=0)), "o-", color=f"C{i}", label=name)
    right.loglog(n, np.sqrt(np.mean(next(iter(errors.values()))[:, 0] ** 2)) * np.sqrt(n[0] / n), "k:",
                 label=r"$\propto n^{-1/2}$")
    left.axhline(0.0, color="k", lw=0.8)
    left.set_xscale("log")
    for ax in (left, right):
        ax.set_xticks(n, [str(int(v)) for v in n])
        ax.xaxis.set_minor_locator(NullLocator())
    left.set_xlabel("samples per distribution n")
    left.set_ylabel(ylabel)
    left.legend(fontsize=7)
    right.set_xlabel("samples per distribution n")
    right.set_ylabel("root mean squared error")
    right.legend(fontsize=7)
    return finish(figure)


def nonnegativity(random_values: np.ndarray, n: np.ndarray, same: np.ndarray, different: np.ndarray) -> Figure:
    """Left: KALE over random pairs (sorted). Right: KALE(P, P) and KALE(P, Q) against n; same, different: (S, N)."""
    figure, (left, right) = new_figure(1, 2, width=4.2, height=3.2)
    left.plot(np.sort(random_values), "o", ms=3)
    left.axhline(0.0, color="k", lw=0.8)
    left.set_xlabel("random pair (sorted by value)")
    left.set_ylabel("KALE smoothie")
    curves = (("KALE(P, P'), independent samples", same), ("KALE(P, Q), P != Q", different))
    for i, (label, values) in enumerate(curves):
        lo, mid, hi = np.quantile(values, [0.1, 0.5, 0.9], axis=0)
        right.plot(n, mid, "os"[i] + "-", color=f"C{i}", label=label)
        right.fill_between(n, lo, hi, color=f"C{i}", alpha=0.2)
    right.plot(n, np.median(same, axis=0)[0] * n[0] / n, "k:", label=r"$\propto 1/n$")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xticks(n, [str(int(v)) for v in n])
    right.xaxis.set_minor_locator(NullLocator())
    right.set_xlabel("samples per distribution n")
    right.legend(fontsize=7)
    return finish(figure)


def kl_recovery(labels: list[str], kl: np.ndarray, estimates: np.ndarray, restricted: np.ndarray) -> Figure:
    """KALE over a class holding -log(p/q) (estimates: (S, K)) and over a smaller class against KL (K,)."""
    figure, ax = new_figure(width=5.2, height=3.6)
    positions = np.arange(len(labels))
    ax.errorbar(positions - 0.1, estimates.mean(axis=0), yerr=estimates.std(axis=0), fmt="o", color="C0",
                label="class holding $-\\log(p/q)$ (mean $\\pm$ sd over seeds)")
    ax.errorbar(positions + 0.1, restricted.mean(axis=0), yerr=restricted.std(axis=0), fmt="s", color="C1",
                label="linear class (too small for unequal variances)")
    ax.plot(positions, kl, "k_", ms=20, mew=2, label="KL, closed form")
    ax.set_xticks(positions, labels, fontsize=7, rotation=20)
    ax.set_ylabel("value")
    ax.legend(fontsize=7)
    return finish(figure)


def delta_pair(shifts: np.ndarray, kale: np.ndarray, lipschitz: float) -> Figure:
    """KALE(delta_0, delta_t) with L-Lipschitz critics against t, beside L t; KL is infinite for every t > 0."""
    figure, ax = new_figure(width=4.6, height=3.4)
    ax.plot(shifts, kale, "o", color="C2", label=f"KALE, {lipschitz:g}-Lipschitz MLP critic")
    ax.plot(shifts, lipschitz * shifts, "k--", lw=1, label=r"$L\,t$ (derived by hand)")
    ax.set_xlabel("t")
    ax.set_ylabel(r"KALE$(\delta_0, \delta_t)$")
    ax.set_title("KL$(\\delta_0, \\delta_t) = \\infty$ for every $t > 0$", fontsize=10)
    ax.legend(fontsize=8)
    return finish(figure)


def weak_convergence(k: np.ndarray, curves: Mapping[str, np.ndarray], w1: Mapping[str, np.ndarray],
                     floor: np.ndarray, lipschitz: float) -> Figure:
    """KALE(P, Q_k) and L W1(P, Q_k) along two sequences (converging or not); floor: KALE(P, P') over seeds."""
    figure, ax = new_figure(width=5.4, height=3.6)
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(k, values, "os"[i] + "-", color=f"C{i}", label=f"KALE, {label}")
        ax.plot(k, lipschitz * w1[label], "os"[i] + ":", color=f"C{i}", mfc="none", label=f"L W1, {label}")
    ax.axhspan(floor.min(), floor.max(), color="grey", alpha=0.3, label="KALE(P, P'), independent samples")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("k (radius 1 + 1/k)")
    ax.set_ylabel("value")
    ax.legend(fontsize=7)
    return finish(figure)


def w1_bound(lw1: Mapping[str, np.ndarray], kale: Mapping[str, np.ndarray]) -> Figure:
    """KALE against L W1 over families of pairs (one marker per family), with the line KALE = L W1."""
    figure, ax = new_figure(width=4.4, height=3.8)
    top = max(max(v.max() for v in lw1.values()), max(v.max() for v in kale.values()))
    ax.plot([0, top], [0, top], "k--", lw=1, label="KALE = L W1")
    for i, name in enumerate(lw1):
        ax.plot(lw1[name], kale[name], "os^"[i % 3], color=f"C{i}", label=name)
    ax.set_xlabel(r"$L\,W_1(P, Q)$ (exact, same samples)")
    ax.set_ylabel("KALE(P, Q), L-Lipschitz critic")
    ax.legend(fontsize=7)
    return finish(figure)
