"""Figures of notebook 08 (latent generator models, short-run inference, the tuned step size)."""

from __future__ import annotations

import numpy as np

from latentebm.plotting.style import finish, new_figure


def kl_curve(s: np.ndarray, kl_closed: np.ndarray, kl_estimate: np.ndarray, s_true: float, s_grid: float,
             s_gradient: float):
    """KL(q_s || p(z|x)) against s: closed form, change-of-variables estimate, and the three minimisers."""
    figure, ax = new_figure(width=5.0)
    ax.plot(s, kl_closed, label="closed form (Gaussian)")
    ax.plot(s, kl_estimate, "o", ms=4, label="change-of-variables estimate")
    ax.axvline(s_true, color="k", ls=":", label=f"argmin true KL ({s_true:.3f})")
    ax.axvline(s_grid, color="C2", ls="--", label=f"tuned, grid ({s_grid:.3f})")
    ax.axvline(s_gradient, color="C3", ls="-.", label=f"tuned, gradient ({s_gradient:.3f})")
    ax.set(xlabel="step size s", ylabel="KL(q_s || p(z|x))", yscale="log", title="factor analysis, K steps")
    ax.legend(fontsize=7)
    return finish(figure)


def posterior_samples(nuts: np.ndarray, short_run: np.ndarray, z_grid: np.ndarray, density: np.ndarray):
    """Scatter of NUTS and short-run samples of z in 2-D over the posterior density contours."""
    figure, axes = new_figure(1, 2, width=3.6)
    for ax, samples, name, colour in ((axes[0], nuts, "NUTS", "C0"), (axes[1], short_run, "short-run", "C1")):
        ax.contour(z_grid, z_grid, density, levels=6, colors="k", linewidths=0.6)
        ax.plot(samples[:, 0], samples[:, 1], ".", ms=2, alpha=0.4, color=colour)
        ax.set(xlabel="z1", ylabel="z2", title=name, xlim=(z_grid[0], z_grid[-1]), ylim=(z_grid[0], z_grid[-1]))
    return finish(figure)


def reconstruction_vs_s(s: np.ndarray, errors: dict[str, np.ndarray], s_tuned: float):
    """Held-out reconstruction error per pixel against the inference step size, one curve per model."""
    figure, ax = new_figure(width=5.0)
    for name, values in errors.items():
        ax.plot(s, values, "o-", label=name)
    ax.axvline(s_tuned, color="k", ls="--", label=f"KL-tuned s ({s_tuned:.3f})")
    ax.set(xlabel="step size s (K fixed)", ylabel="held-out MSE per pixel", xscale="log",
           title="reconstruction against s")
    ax.set_xticks(s, [f"{v:g}" for v in s])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    return finish(figure)


def method_bars(methods: list[str], values: dict[str, np.ndarray]):
    """One panel per metric (lower is better), one bar per method."""
    figure, axes = new_figure(1, len(values), width=3.0)
    for ax, (metric, numbers) in zip(np.atleast_1d(axes), values.items(), strict=True):
        ax.bar(methods, numbers, color=[f"C{i}" for i in range(len(methods))])
        ax.set(title=metric)
        ax.tick_params(axis="x", labelrotation=30)
    return finish(figure)


def s_over_training(steps: np.ndarray, s_by_seed: np.ndarray, s_grid_first: np.ndarray):
    """The KL-tuned step size at each tuning time, one line per seed (gradient), crosses for the grid."""
    figure, ax = new_figure(width=5.0)
    for i, trace in enumerate(s_by_seed):
        ax.plot(steps, trace, "o-", color=f"C{i}", label=f"seed {i}, gradient")
    ax.plot(steps, s_grid_first, "x", color="k", ms=8, label="seed 0, grid")
    ax.set(xlabel="learning step", ylabel="tuned s", title="step size over training")
    ax.legend(fontsize=8)
    return finish(figure)


def image_grid(rows: list[np.ndarray], row_labels: list[str], side: int):
    """Rows of images ``(n, side*side)`` each, labelled on the left."""
    n = rows[0].shape[0]
    figure, axes = new_figure(len(rows), n, width=0.9, height=0.9)
    axes = np.atleast_2d(axes)
    for r, (images, label) in enumerate(zip(rows, row_labels, strict=True)):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(images[c].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, fontsize=6, rotation=0, ha="right", va="center")
    return finish(figure)
