"""Figures of the GEBM notebooks (04: gradient theorem; 05: training). Each takes arrays, returns a Figure."""

from __future__ import annotations

import numpy as np

from latentebm.plotting.style import finish, new_figure


def convexity_gap(c: np.ndarray, u_values: np.ndarray, gaps: np.ndarray):
    """gap(c) = [-c - e^{-c} u + 1] - (-log u) for each u (rows of ``gaps``: (U, C)), zero at c = log u."""
    figure, ax = new_figure()
    for u, gap in zip(u_values, gaps, strict=True):
        line, = ax.plot(c, gap, label=f"u = {u:g}")
        ax.axvline(np.log(u), color=line.get_color(), ls=":", lw=1)
    ax.set(xlabel="c", ylabel="bound - (-log u)", title="-log u >= -c - e^{-c} u + 1",
           ylim=(max(gaps.min(), -3.0), 0.2))
    ax.legend(fontsize=8)
    return finish(figure)


def gradient_three_ways(closed: np.ndarray, fd: np.ndarray, iw_mean: np.ndarray, iw_sd: np.ndarray,
                        sizes: np.ndarray, iw_error: np.ndarray, iw_error_sd: np.ndarray):
    """Left: grad K per coordinate, closed form / finite differences / IW estimator (+- 1 sd at the largest M).
    Right: mean |IW - closed| against M, with the M^{-1/2} rate."""
    figure, (left, right) = new_figure(1, 2)
    k = np.arange(closed.shape[0])
    left.bar(k - 0.25, closed, 0.25, label="closed form theta - mu")
    left.bar(k, fd, 0.25, label="central differences of K")
    left.bar(k + 0.25, iw_mean, 0.25, yerr=iw_sd, label="IW estimator (+-1 sd)")
    left.set(xlabel="coordinate of theta", ylabel="dK/dtheta", xticks=k)
    left.legend(fontsize=7)
    right.errorbar(sizes, iw_error, yerr=iw_error_sd, marker="o", label="mean |IW - closed|")
    right.plot(sizes, iw_error[0] * np.sqrt(sizes[0] / sizes), "k:", label="M^{-1/2}")
    right.set(xscale="log", yscale="log", xlabel="latent samples M", ylabel="error", title="IW estimator error")
    right.legend(fontsize=8)
    return finish(figure)


def gradient_mlp(fd: np.ndarray, iw_same: np.ndarray, iw_fresh_mean: np.ndarray, iw_fresh_sd: np.ndarray):
    """Directional derivatives of K along random directions: finite differences (x) against the IW estimator
    on the same latents and on fresh latents (mean +- sd of one estimate)."""
    figure, ax = new_figure(width=4.6)
    span = np.array([min(fd.min(), iw_fresh_mean.min()), max(fd.max(), iw_fresh_mean.max())])
    ax.plot(span, span, "k:", lw=1)
    ax.plot(fd, iw_same, "o", label="IW, same latents as K")
    ax.errorbar(fd, iw_fresh_mean, yerr=iw_fresh_sd, fmt="s", mfc="none", label="IW, fresh latents (+-1 sd)")
    ax.set(xlabel="central difference of K along v", ylabel="v . IW estimator", title="MLP base and energy")
    ax.legend(fontsize=8)
    return finish(figure)


def refinement_bound(distance: np.ndarray, kale_base: np.ndarray, kale_refined: np.ndarray, radius: float,
                     samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """KALE(P, B), KALE(P, Q_{B,E*}) and 2 KALE(P, B) against |mu - theta| for the ball class of radius L;
    optionally the same from samples (distances, KALE(P, B), KALE(P, Q_{B,E*}))."""
    figure, ax = new_figure(width=4.6)
    ax.plot(distance, 2 * kale_base, "k--", label="2 KALE(P, B)")
    ax.plot(distance, kale_base, label="KALE(P, B)")
    ax.plot(distance, kale_refined, label="KALE(P, Q_{B,E*})")
    if samples is not None:
        ax.plot(samples[0], samples[1], "o", color="C0", mfc="none", label="from samples: KALE(P, B)")
        ax.plot(samples[0], samples[2], "s", color="C1", mfc="none", label="from samples: KALE(P, Q_{B,E*})")
    ax.set(xlabel="|mu - theta|", ylabel="KALE", title=f"linear energies, |w| <= {radius:g}")
    ax.legend(fontsize=7)
    return finish(figure)


def singular_supports(shifts: np.ndarray, kale_values: np.ndarray, lipschitz: float, likelihood: np.ndarray):
    """On mutually singular P, Q (parallel lines): KALE over the ball class and L(E) of a fixed smooth E stay
    finite and below L * W1 = L * shift, while KL = +inf."""
    figure, ax = new_figure(width=4.6)
    ax.plot(shifts, lipschitz * shifts, "k--", label="L W1(P, Q) = L t")
    ax.plot(shifts, kale_values, "o-", label="KALE over |w| <= L")
    ax.plot(shifts, likelihood, "s-", label="L(E) for E(x) = tanh(x_2)")
    ax.set(xlabel="distance t between the supports", ylabel="value", title="finite where KL = +inf")
    ax.legend(fontsize=8)
    return finish(figure)


def toy_samples(panels: dict[str, np.ndarray], title: str, axes_index: tuple[int, int] = (0, 1)):
    """One scatter panel per sample set (name -> (n, D) array), coordinates ``axes_index`` shown."""
    figure, axes = new_figure(1, len(panels), width=2.8, height=2.8, sharex=True, sharey=True)
    i, j = axes_index
    for ax, (name, x) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        ax.scatter(x[:, i], x[:, j], s=2, alpha=0.4)
        ax.set(title=name, xlabel=f"x{i + 1}")
    np.atleast_1d(axes)[0].set_ylabel(f"x{j + 1}")
    figure.suptitle(title)
    return finish(figure)


def mass_histograms(panels: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]):
    """Mass along a manifold, one panel per title -> (edges: (K+1,), {name: (K,) bin masses}); in each panel the
    first set is drawn filled, as the reference, the others as step lines."""
    figure, axes = new_figure(1, len(panels), width=4.6, height=3.0)
    for ax, (title, (edges, histograms)) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        for k, (name, mass) in enumerate(histograms.items()):
            if k == 0:
                ax.stairs(mass, edges, fill=True, alpha=0.25, color="grey", label=name)
            else:
                ax.stairs(mass, edges, lw=1.5, label=name)
        ax.set(xlabel="manifold coordinate", ylabel="mass per bin", title=title)
        ax.legend(fontsize=7)
    return finish(figure)


def learning_curves(steps: np.ndarray, history: dict[str, np.ndarray]):
    """Left: KALE estimate; middle: c against the batch log Z; right: mean energy on data and on samples."""
    figure, (a, b, c) = new_figure(1, 3, width=3.4)
    a.plot(steps, history["kale"])
    a.set(xlabel="base step", title="KALE estimate F(E + c)")
    b.plot(steps, history["c"], label="c (trained)")
    b.plot(steps, history["log_z_batch"], alpha=0.6, label="log mean exp(-E(B(z)))")
    b.set(xlabel="base step", title="c against log Z")
    b.legend(fontsize=7)
    c.plot(steps, history["energy_data"], label="E on data")
    c.plot(steps, history["energy_model"], label="E on base samples")
    c.set(xlabel="base step", title="energies")
    c.legend(fontsize=7)
    return finish(figure)


def image_grids(grids: dict[str, np.ndarray], n_cols: int = 8):
    """One panel per image set (name -> (n, 1, H, W) in [-1, 1]), tiled n_cols wide."""
    figure, axes = new_figure(1, len(grids), width=3.2, height=3.4)
    for ax, (name, images) in zip(np.atleast_1d(axes), grids.items(), strict=True):
        n, _, h, w = images.shape
        rows = n // n_cols
        tiled = images[: rows * n_cols, 0].reshape(rows, n_cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h,
                                                                                                    n_cols * w)
        ax.imshow(tiled, cmap="gray", vmin=-1, vmax=1)
        ax.set(title=name, xticks=[], yticks=[])
    return finish(figure)


def claims_over_seeds(panels: dict[str, dict[str, np.ndarray]], floors: dict[str, tuple[float, float]]):
    """One panel per toy: each model's (off-support distance, mass error) on each seed (``panels[toy][model]``:
    (S, 2)), the seeds of one model joined to their mean (large marker); the training data's own values (the
    floor, ``floors[toy]``) as a star. Lower left is better on both counts."""
    figure, axes = new_figure(1, len(panels), width=4.4, height=3.6)
    for ax, (toy, models) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        for label, values in models.items():
            mean = values.mean(0)
            dots = ax.scatter(values[:, 0], values[:, 1], s=18, alpha=0.6, label=f"{label} (each seed)")
            ax.scatter(*mean, s=90, color=dots.get_facecolor()[0], edgecolor="k", zorder=3)
        ax.scatter(*floors[toy], marker="*", s=140, color="k", label="training data (floor)")
        ax.set(xlabel="off-support distance (held out)", ylabel="mass error, TV (held out)", title=toy)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    return finish(figure)


def ratio_vs_steps(steps: np.ndarray, ratios: np.ndarray, chosen: np.ndarray, title: str):
    """FD ratio (held out) against sampler steps, one line per training seed (``ratios``: (S, T) at ``steps``:
    (T,)), with the step each seed's validation score chose (``chosen``: (S,) indices into ``steps``)."""
    figure, ax = new_figure(width=5.2)
    for k, (curve, pick) in enumerate(zip(ratios, chosen, strict=True)):
        line, = ax.plot(steps, curve, lw=1.2, label=f"training seed {k}")
        ax.scatter(steps[pick], curve[pick], color=line.get_color(), edgecolor="k", zorder=3)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set(xlabel="Langevin steps", ylabel="FD(GEBM) / FD(generator alone), held out", title=title)
    ax.legend(fontsize=7, title="dot: step chosen on validation", title_fontsize=7)
    return finish(figure)
