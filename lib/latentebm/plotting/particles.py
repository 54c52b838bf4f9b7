"""Figures of notebook 09 (particle flows of the MMD and of KALE)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentebm.plotting.style import finish, new_figure


def dissipation_and_descent(step_over_safe: np.ndarray, ratio_error: np.ndarray, factors: np.ndarray,
                            ascent_share: np.ndarray, violations: np.ndarray) -> Figure:
    """(a) |measured / predicted decrease - 1| of one Euler step against gamma / (2/(3L)), seeds as rows;
    (b) share of steps on which F rose against the step factor, with the lemma's violations written above."""
    figure, (left, right) = new_figure(1, 2, width=4.3, height=3.3)
    for row in np.atleast_2d(ratio_error):
        left.loglog(step_over_safe, row, "o-", color="C0", alpha=0.6, ms=3)
    left.loglog(step_over_safe, step_over_safe * ratio_error[..., 0].mean() / step_over_safe[0], "k--", lw=0.8,
                label="slope 1 (error of order gamma)")
    left.set_xlabel(r"step $\gamma$ / $\frac{2}{3L}$")
    left.set_ylabel("|measured / predicted decrease − 1|")
    left.set_title("dissipation: dF/dt = −∫|∇f|² dν", fontsize=9)
    left.legend(fontsize=7)
    positions = np.arange(len(factors))
    right.bar(positions, 100 * ascent_share, color=["C2" if f < 1 else "C3" for f in factors])
    for p, v in zip(positions, violations, strict=True):
        right.text(p, 100 * ascent_share.max() * 0.03 + 1, f"{int(v)} lemma\nviolations", ha="center", fontsize=6)
    right.set_xticks(positions, [f"{f:g}" for f in factors])
    right.set_xlabel(r"step $\gamma$ / $\frac{2}{3L}$")
    right.set_ylabel("steps on which F rose (%)")
    right.set_title("descent lemma (green: guaranteed descent)", fontsize=9)
    return finish(figure)


def particle_panels(target: np.ndarray, panels: Mapping[str, np.ndarray], n_cols: int = 3) -> Figure:
    """Scatter of the target (grey) and each panel's particles (C0), one panel per label."""
    n_rows = (len(panels) + n_cols - 1) // n_cols
    figure, axes = new_figure(n_rows, n_cols, width=3.0, height=2.3, sharex=True, sharey=True)
    axes = np.ravel(axes)
    for ax, (label, y) in zip(axes, panels.items(), strict=False):
        ax.scatter(target[:, 0], target[:, 1], s=3, color="0.6", label="target")
        ax.scatter(y[:, 0], y[:, 1], s=3, color="C0", label="particles")
        ax.set_title(label, fontsize=8)
        ax.set_aspect("equal")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6, loc="upper left", markerscale=2)
    return finish(figure)


def energy_curves(curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]], reference: float, threshold: float,
                  xlabel: str = "flow time t") -> Figure:
    """F = 1/2 MMD^2 against flow time: per label a list of (time, F) arrays, one per seed (lengths may differ),
    with the F of an independent sample of the target (dotted) and the threshold of "reached" (dashed)."""
    figure, ax = new_figure(width=5.2, height=3.5)
    for i, (label, runs) in enumerate(curves.items()):
        for j, (t, e) in enumerate(runs):
            ax.plot(np.maximum(t, 1e-3), e, color=f"C{i}", lw=1, alpha=0.8, label=label if j == 0 else None)
    ax.axhline(reference, color="k", ls=":", lw=1, label="F of a fresh sample of the target")
    ax.axhline(threshold, color="k", ls="--", lw=0.8, label="threshold: 5% of the start's F")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$F=\frac{1}{2}\,$MMD$^2$")
    ax.legend(fontsize=7)
    return finish(figure)


def validation_curves(steps: np.ndarray, losses: Mapping[str, np.ndarray]) -> Figure:
    """Validation loss against SGD steps per variant: median over seeds (line) and range (band)."""
    figure, ax = new_figure(width=5.0, height=3.4)
    for i, (label, values) in enumerate(losses.items()):
        values = np.atleast_2d(values)
        ax.plot(steps, np.median(values, axis=0), color=f"C{i}", label=label)
        ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=f"C{i}", alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=7)
    return finish(figure)
