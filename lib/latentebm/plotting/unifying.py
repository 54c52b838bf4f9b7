"""Figures of notebook 18 (GANs and VAEs as opposite KLs, seed 004): arrays in, Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from latentebm.plotting.style import finish, new_figure


def lemma1_panels(x: np.ndarray, densities: Mapping[str, np.ndarray], discriminator: np.ndarray,
                  optimal: np.ndarray, sweep_means: np.ndarray, lhs: np.ndarray, rhs: np.ndarray,
                  control: np.ndarray, m0: float) -> Figure:
    """(a) the densities on the line (``densities``: label -> density on ``x``); (b) the discriminator
    ``q_phi0(y=1|x)`` against the optimal one; (c, d) both sides of Lemma 1 and the control, d/dm and d/dlog s,
    against the generator's mean ``m0`` (``sweep_means (M,)``; ``lhs``, ``rhs``, ``control (M, 2)``), the point
    ``m0`` of panels (a, b) marked."""
    figure, axes = new_figure(1, 4, width=3.1, height=2.7)
    for i, (label, density) in enumerate(densities.items()):
        axes[0].plot(x, density, lw=1.0, color=f"C{i}", ls="--" if label.startswith("q") else "-", label=label)
    axes[0].set_xlim(-5, 5)
    axes[0].set_xlabel("x")
    axes[0].set_title("(a) densities at θ0", fontsize=8)
    axes[0].legend(fontsize=6)
    axes[1].plot(x, discriminator, color="C3", label="q_φ0(y=1|x) (ours, quadratic logit)")
    axes[1].plot(x, optimal, color="0.5", ls=":", label="optimal p_data / (p_data + p_g)")
    axes[1].set_xlim(-5, 5)
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_xlabel("x")
    axes[1].set_title("(b) the discriminator is not optimal", fontsize=8)
    axes[1].legend(fontsize=6)
    for ax, j, name in ((axes[2], 0, "∂/∂m"), (axes[3], 1, "∂/∂log s")):
        ax.plot(sweep_means, lhs[:, j], color="C0", lw=1.2, label="left: −∇ E log q^r (generator)")
        ax.plot(sweep_means, rhs[:, j], "o", ms=2.5, color="C1", label="right: ∇ (E KL(p_θ‖q^r) − JSD)")
        ax.plot(sweep_means, control[:, j], color="C3", ls="--", lw=1.0, label="control: q^r built at θ0 + δ")
        ax.axvline(m0, color="0.7", lw=0.6)
        ax.axhline(0, color="k", lw=0.4)
        ax.set_xlabel("generator mean m0 (s0 fixed)")
        ax.set_title(f"({'c' if j == 0 else 'd'}) Lemma 1, {name}", fontsize=8)
        ax.legend(fontsize=6)
    return finish(figure)


def kl_direction_panel(x: np.ndarray, target: np.ndarray, forward: Sequence[np.ndarray],
                       reverse: Sequence[np.ndarray], starts: Sequence[float]) -> Figure:
    """The bimodal target and the Gaussians fitted from each start mean (``starts``) by the forward KL (one
    curve per start, all on top of each other) and by the reverse KL (one per start; the start marked)."""
    figure, (left, right) = new_figure(1, 2, width=3.8, height=2.8)
    for ax, fits, title in ((left, forward, "KL(target ‖ model): the VAE's direction"),
                            (right, reverse, "KL(model ‖ target): the GAN's direction")):
        ax.fill_between(x, target, color="0.85", label="target")
        for i, (fit, start) in enumerate(zip(fits, starts, strict=True)):
            ax.plot(x, fit, lw=1.0, color=f"C{i}", alpha=0.8, label=f"fit from m = {start:+.1f}")
            ax.plot([start], [0], "^", color=f"C{i}", ms=5, clip_on=False)
        ax.set_xlim(-6, 6)
        ax.set_ylim(0, None)
        ax.set_xlabel("x")
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=6)
    return finish(figure)


def mixture_panels(panels: Mapping[str, np.ndarray], means: np.ndarray, radius: float, extent: float,
                   captions: Mapping[str, str] | None = None, max_points: int = 1000) -> Figure:
    """One scatter per model (``panels``: title -> samples (n, 2)), the modes' ``radius`` circles drawn, a
    caption under each title (e.g. modes covered and share of good samples)."""
    figure, axes = new_figure(1, len(panels), width=2.5, height=2.6, squeeze=False)
    for ax, (title, points) in zip(axes[0], panels.items(), strict=True):
        points = np.asarray(points)[:max_points]
        ax.scatter(points[:, 0], points[:, 1], s=1.5, color="C0", alpha=0.5, rasterized=True)
        for mean in np.asarray(means):
            ax.add_patch(Circle(tuple(mean), radius, fill=False, color="C3", lw=0.6))
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        caption = (captions or {}).get(title, "")
        ax.set_title(f"{title}\n{caption}" if caption else title, fontsize=7)
    return finish(figure)


def _tiles(images: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """(n, H, W) in [0, 1] -> one mosaic of ``columns`` columns separated by ``gap`` pixels."""
    n, height, width = images.shape
    rows = -(-n // columns)
    mosaic = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), 0.5)
    for k, image in enumerate(images):
        i, j = divmod(k, columns)
        mosaic[i * (height + gap):i * (height + gap) + height, j * (width + gap):j * (width + gap) + width] = image
    return mosaic


def aavae_panels(fractions: Sequence[float], elbo: Mapping[str, np.ndarray], samples: Mapping[str, np.ndarray],
                 columns: int = 6) -> Figure:
    """(a) the test ELBO of each model (``elbo``: model -> (fractions, seeds)) against the share of training
    data, one line per seed; (b) the AAVAE's gain over the VAE of the same seed; (c, d) samples' Bernoulli
    means (``samples``: title -> (n, H, W) in [0, 1])."""
    figure, axes = new_figure(1, 2 + len(samples), width=2.9, height=2.7)
    share = 100 * np.asarray(fractions)
    for i, (model, values) in enumerate(elbo.items()):
        values = np.asarray(values)
        for s in range(values.shape[1]):
            axes[0].plot(share, values[:, s], "o-", ms=3, lw=0.8, color=f"C{i}", alpha=0.8,
                         label=model if s == 0 else None)
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.set_xticks(share, [f"{v:g}%" for v in share])
        ax.minorticks_off()
        ax.set_xlabel("share of the training images")
    axes[0].set_ylabel("test ELBO (nats)")
    axes[0].set_title("(a) test ELBO, each seed", fontsize=8)
    axes[0].legend(fontsize=6)
    models = list(elbo)
    gain = np.asarray(elbo[models[1]]) - np.asarray(elbo[models[0]])
    for s in range(gain.shape[1]):
        axes[1].plot(share, gain[:, s], "o-", ms=3, lw=0.8, color="C2", alpha=0.8)
    axes[1].axhline(0, color="k", lw=0.6)
    axes[1].set_ylabel(f"{models[1]} − {models[0]} (nats)")
    axes[1].set_title("(b) gain over the VAE, same seed", fontsize=8)
    for ax, (title, images) in zip(axes[2:], samples.items(), strict=True):
        ax.imshow(_tiles(np.asarray(images), columns), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(figure)
