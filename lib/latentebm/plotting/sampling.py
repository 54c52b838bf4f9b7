"""Figures of notebook 06 (latent-space sampling of a GEBM). Each takes arrays and returns a Figure."""

from __future__ import annotations

import numpy as np

from latentebm.plotting.style import finish, new_figure

COLOURS = {"ULA": "C0", "MALA": "C1", "HMC": "C2", "KLA": "C3", "NUTS": "C4", "IMH": "C5", "DOT": "C6"}


def toy_posterior(axis: np.ndarray, mass: np.ndarray, x_model: np.ndarray, x_base: np.ndarray,
                  centres: np.ndarray):
    """Left: nu(z) on the grid (``mass: (n, n)`` over ``axis: (n,)``). Right: x = B(z) for z ~ eta (``x_base``)
    and z ~ nu (``x_model``), both ``(N, 2)``, with the energy's centres ``(K, 2)``."""
    figure, (left, right) = new_figure(1, 2, width=4.2, height=3.8)
    extent = (axis[0], axis[-1], axis[0], axis[-1])
    left.imshow(mass.T, origin="lower", extent=extent, cmap="magma", aspect="equal")
    left.set(title=r"latent posterior $\nu(z)$ (grid)", xlabel=r"$z_1$", ylabel=r"$z_2$")
    right.scatter(*x_base.T, s=2, alpha=0.3, color="grey", label=r"$B(z)$, $z\sim\eta$")
    right.scatter(*x_model.T, s=2, alpha=0.3, color="C3", label=r"$B(z)$, $z\sim\nu$")
    right.scatter(*centres.T, marker="x", color="k", s=60, label="energy centres")
    right.set(title="data space", xlabel=r"$x_1$", ylabel=r"$x_2$", aspect="equal")
    right.legend(fontsize=7, loc="lower left")
    return finish(figure)


def bias_vs_step(step_sizes: np.ndarray, tv: dict[str, np.ndarray], floor_mean: float, floor_sd: float):
    """TV to the grid posterior against the step size, one line per sampler, with the exact-draw floor band."""
    figure, ax = new_figure(width=5.2, height=3.6)
    ax.axhspan(floor_mean - 2 * floor_sd, floor_mean + 2 * floor_sd, color="grey", alpha=0.25,
               label="exact draws (mean ± 2 sd)")
    for name, values in tv.items():
        ax.plot(step_sizes, values, "o-", color=COLOURS.get(name), label=name)
    ax.set(xscale="log", xlabel="step size h", ylabel="histogram TV to the grid posterior",
           title="stationary law against the step")
    ax.set_xticks(step_sizes, [f"{h:g}" for h in step_sizes])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    return finish(figure)


def ess_rank(names: list[str], ess_per_grad: np.ndarray, ranks: dict[str, np.ndarray]):
    """Left: bulk ESS per gradient evaluation (log scale). Right panels: rank histograms of z_1 per chain
    (``ranks[name]: (C, bins)``), flat when the chains agree."""
    figure, axes = new_figure(1, 1 + len(ranks), width=2.9, height=3.0)
    axes[0].bar(names, ess_per_grad, color=[COLOURS.get(n) for n in names])
    axes[0].set(yscale="log", ylabel="bulk ESS / gradient evaluation", title="efficiency")
    axes[0].tick_params(axis="x", labelsize=7)
    for ax, (name, counts) in zip(axes[1:], ranks.items(), strict=True):
        bins = np.arange(counts.shape[1])
        for c in range(counts.shape[0]):
            ax.step(bins, counts[c], where="mid", color=COLOURS.get(name), alpha=0.6, lw=0.8)
        ax.axhline(counts.mean(), color="k", lw=0.8, ls="--")
        ax.set(title=f"{name}: ranks of $z_1$", xlabel="rank bin", yticks=[])
    return finish(figure)


def temperature(betas: np.ndarray, x_samples: list[np.ndarray], centres: np.ndarray, spread_ratio: np.ndarray):
    """One scatter of x = B(z), z ~ nu_beta, per beta; last panel beta E|x - c|^2 / (2 s^2) against beta."""
    figure, axes = new_figure(1, len(betas) + 1, width=3.0, height=3.0)
    for ax, beta, x in zip(axes[:-1], betas, x_samples, strict=True):
        ax.scatter(*x.T, s=1, alpha=0.3, color="C3")
        ax.scatter(*centres.T, marker="x", color="k", s=40)
        ax.set(title=rf"$\beta = {beta:g}$", xlim=(-3, 3), ylim=(-3, 3), aspect="equal")
    axes[-1].plot(betas, spread_ratio, "o-")
    axes[-1].axhline(1.0, color="k", ls="--", lw=0.8)
    axes[-1].set(xscale="log", xlabel=r"$\beta$", ylabel=r"$\beta\,E|x-c|^2/(2s^2)$", title="spread at modes")
    return finish(figure)


def mode_switches(frictions: np.ndarray, mean_switches: np.ndarray, time: np.ndarray,
                  trajectories: dict[str, np.ndarray]):
    """Left: mean mode switches per chain against the friction. Right: x_1 along one chain per friction named
    in ``trajectories`` (each ``(T,)`` over ``time: (T,)``)."""
    figure, (left, right) = new_figure(1, 2, width=4.4, height=3.4)
    left.plot(np.maximum(frictions, 1e-3), mean_switches, "o-", color="C3")
    left.set(xscale="log", xlabel=r"friction $\gamma$", ylabel="mode switches per chain",
             title="kinetic Langevin: moving between modes")
    for label, x1 in trajectories.items():
        right.plot(time, x1, lw=0.7, label=label)
    right.set(xlabel="time (steps x h)", ylabel=r"$x_1$ of one chain", title="one chain per friction")
    right.legend(fontsize=7)
    return finish(figure)


def relative_fd(curves: dict[str, tuple[np.ndarray, np.ndarray]], baselines: dict[str, float]):
    """FD(samples) / FD(base alone) against gradient evaluations, ``curves[name] = (gradients, ratios)``; the
    baselines (IMH, DOT) as flat lines."""
    figure, ax = new_figure(width=6.0, height=4.0)
    for name, (x, values) in curves.items():
        colour = COLOURS.get(name.split()[0])
        ax.plot(x, values, "-" if "decay" in name else ":", marker="o", ms=3, color=colour, label=name)
    for name, value in baselines.items():
        ax.axhline(value, color=COLOURS.get(name), ls="--", lw=1, label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xlabel="gradient evaluations (= steps; an HMC step costs L)", ylabel="FD(GEBM samples) / FD(base alone)",
           title="sample quality along sampling")
    finite = [v for _, values in curves.values() for v in values if np.isfinite(v)] + list(baselines.values())
    ax.set_ylim(0.0, min(max(1.6, 1.1 * max(finite)), 5.0))
    ax.legend(fontsize=7, ncol=2)
    return finish(figure)


def image_rows(rows: dict[str, np.ndarray], n_show: int = 12):
    """One row of images per label, ``rows[label]: (N, 1, H, W)`` in [-1, 1]."""
    figure, axes = new_figure(len(rows), 1, width=0.6 * n_show, height=0.75)
    axes = np.atleast_1d(axes)
    for ax, (label, images) in zip(axes, rows.items(), strict=True):
        strip = np.concatenate([images[i, 0] for i in range(min(n_show, len(images)))], axis=1)
        ax.imshow(strip, cmap="gray", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    return finish(figure)
