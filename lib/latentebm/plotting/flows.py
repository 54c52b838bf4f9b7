"""Figures of notebook 07 (the Real NVP sanity check: a GEBM whose base has a density is an EBM)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from latentebm.plotting.style import finish, new_figure


def _density_panel(ax, axis: np.ndarray, values: np.ndarray, title: str) -> None:
    """values: (G, G) on the grid axis x axis, indexed [i, j] = (axis[i], axis[j])."""
    ax.pcolormesh(axis, axis, values.T, shading="auto", cmap="viridis")
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")


def flow_density(axis: np.ndarray, log_q: np.ndarray, data: np.ndarray, samples: np.ndarray,
                 box_quadrature: np.ndarray, box_frequency: np.ndarray, box_stderr: np.ndarray) -> Figure:
    """Data, the flow's density exp(log q) on a grid with samples B(z) over it, and each box's probability by
    quadrature of the change-of-variables density against the fraction of samples in it (±2 standard errors)."""
    figure, axes = new_figure(1, 3, width=3.6, height=3.4)
    axes[0].scatter(data[:, 0], data[:, 1], s=2, color="k", alpha=0.5)
    axes[0].set_title("training data (two moons)", fontsize=10)
    axes[0].set_aspect("equal")
    axes[0].set_xlim(axis[0], axis[-1])
    axes[0].set_ylim(axis[0], axis[-1])
    _density_panel(axes[1], axis, np.exp(log_q), r"$q_\theta(x)$ by change of variables")
    axes[1].scatter(samples[:300, 0], samples[:300, 1], s=1.5, color="w", alpha=0.6)
    top = max(box_quadrature.max(), box_frequency.max()) * 1.05
    axes[2].errorbar(box_quadrature, box_frequency, yerr=2 * box_stderr, fmt="o", ms=3, lw=0.8)
    axes[2].plot([0, top], [0, top], color="k", lw=0.8, ls="--")
    axes[2].set_xlabel(r"$\int_{box} q_\theta$ (quadrature)")
    axes[2].set_ylabel("fraction of samples $B_\\theta(z)$ in box")
    axes[2].set_title("box probabilities, two ways", fontsize=10)
    return finish(figure)


def gebm_reduction(axis: np.ndarray, log_q: np.ndarray, energy: np.ndarray, log_p: np.ndarray,
                   cells_grid: np.ndarray, cells_weights: np.ndarray) -> Figure:
    """Base density, energy, model density exp(-r) / Z on the grid, and each cell's model probability by
    normalised exp(-r) against self-normalised importance weights on base samples."""
    figure, axes = new_figure(1, 4, width=3.2, height=3.2)
    _density_panel(axes[0], axis, np.exp(log_q), r"base $q_\theta$")
    shown = np.where(np.exp(log_q) > 1e-3 * np.exp(log_q).max(), energy, np.nan)
    _density_panel(axes[1], axis, shown, r"energy $E_\psi$ where $q_\theta$ > 0.1% of its max")
    _density_panel(axes[2], axis, np.exp(log_p), r"model $e^{-r}/Z$, $r = E_\psi - \log q_\theta$")
    top = max(cells_grid.max(), cells_weights.max()) * 1.05
    axes[3].plot(cells_grid, cells_weights, "o", ms=3)
    axes[3].plot([0, top], [0, top], color="k", lw=0.8, ls="--")
    axes[3].set_xlabel(r"cell mass of $e^{-r}/Z$ (grid)")
    axes[3].set_ylabel("cell mass, weighted base samples")
    axes[3].set_title("model density, two ways", fontsize=10)
    return finish(figure)


def nll_by_method(methods: Sequence[str], nll: np.ndarray, reference: float | None = None,
                  reference_label: str = "") -> Figure:
    """Test NLL per method (nll: (M, S), S seeds): each seed as a dot, the mean as a bar top."""
    figure, ax = new_figure(width=5.0, height=3.4)
    positions = np.arange(len(methods))
    means = nll.mean(axis=1)
    ax.bar(positions, means, 0.6, color="C0", alpha=0.35)
    for i, row in enumerate(nll):
        ax.plot(np.full(row.shape, positions[i]), row, "o", color="C0", ms=4)
    if reference is not None:
        ax.axhline(reference, color="C3", lw=1, ls="--", label=reference_label)
        ax.legend(fontsize=8)
    spread = nll.max() - nll.min()
    ax.set_ylim(nll.min() - 0.3 * spread - 0.05, nll.max() + 0.3 * spread + 0.05)
    ax.set_xticks(positions, methods)
    ax.set_ylabel("test NLL (nats, lower is better)")
    return finish(figure)


def log_z_spread(labels: Sequence[str], estimates: Sequence[np.ndarray]) -> Figure:
    """Estimates of log Z from independent repeats, one column per estimator."""
    figure, ax = new_figure(width=4.2, height=3.2)
    for i, values in enumerate(estimates):
        jitter = np.linspace(-0.12, 0.12, len(values))
        ax.plot(i + jitter, values, "o", ms=4, color=f"C{i}")
        ax.errorbar(i + 0.25, values.mean(), yerr=values.std(ddof=1), fmt="s", color="k", ms=4, capsize=3)
    ax.set_xticks(range(len(labels)), labels, fontsize=9)
    ax.set_ylabel(r"$\log \hat Z$ per repeat")
    return finish(figure)


def energy_training_curves(steps: Sequence[np.ndarray], val_nll: Sequence[np.ndarray],
                           labels: Sequence[str]) -> Figure:
    """Validation NLL against energy-training step, one line per method (step 0 is the NVP alone)."""
    figure, ax = new_figure(width=5.0, height=3.2)
    for s, v, label in zip(steps, val_nll, labels, strict=True):
        ax.plot(s, v, label=label)
    ax.set_xlabel("energy training step")
    ax.set_ylabel("validation NLL")
    ax.legend(fontsize=8)
    return finish(figure)
