"""Figures of notebook 10 (short-run MCMC and maximum-likelihood EBMs): arrays in, Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentebm.plotting.style import finish, new_figure

SAMPLE_COLUMNS = (("short", "short-run samples"), ("long", "long-run, from data"),
                  ("long_noise", "long-run, from noise"))


def toy_panels(rows: Sequence[Mapping[str, object]], max_points: int = 300, log_range: float = 12.0) -> Figure:
    """One row per (run, toy): the learned density exp(-U)/Z on its grid and its log (clipped ``log_range`` nats
    below its maximum), then short-run samples and long-run chains (from data, from noise) over the data's density
    contours (5% and 50% of its maximum).

    Each row: {"title", "extent", "log_density" (G, G) (first axis = first coordinate), "log_data" (G, G),
    "short", "long", "long_noise" (n, 2)}."""
    figure, axes = new_figure(len(rows), 2 + len(SAMPLE_COLUMNS), width=2.2, height=2.2, squeeze=False)
    for axes_row, row in zip(axes, rows, strict=True):
        extent = float(row["extent"])
        box = (-extent, extent, -extent, extent)
        log_density = np.asarray(row["log_density"])
        axes_row[0].imshow(np.exp(log_density).T, origin="lower", extent=box, cmap="viridis")
        axes_row[1].imshow(log_density.T, origin="lower", extent=box, cmap="viridis",
                           vmin=log_density.max() - log_range, vmax=log_density.max())
        axes_row[0].set_ylabel(str(row["title"]), fontsize=7)
        data_density = np.exp(np.asarray(row["log_data"]))
        grid = np.linspace(-extent, extent, data_density.shape[0])
        for ax, (key, label) in zip(axes_row[2:], SAMPLE_COLUMNS, strict=True):
            ax.contour(grid, grid, data_density.T, levels=data_density.max() * np.array([0.05, 0.5]), colors="0.6",
                       linewidths=0.6)
            points = np.asarray(row[key])[:max_points]
            ax.scatter(points[:, 0], points[:, 1], s=2, color="C3", alpha=0.6)
            ax.set_xlim(-1.6 * extent, 1.6 * extent)
            ax.set_ylim(-1.6 * extent, 1.6 * extent)
            ax.set_title(label, fontsize=7)
        axes_row[0].set_title("learned density", fontsize=7)
        axes_row[1].set_title(f"its log ({log_range:g} nats shown)", fontsize=7)
        for ax in axes_row:
            ax.set_xticks([])
            ax.set_yticks([])
    return finish(figure)


def learning_diagnostics(d: Mapping[str, np.ndarray], r: Mapping[str, np.ndarray],
                         acf: Mapping[str, np.ndarray]) -> Figure:
    """(a) d_t against the update for each run (one member), with 0 marked; (b) r_t; (c) the autocorrelation of
    d_t over the second half at lags 0..K, the median over members with their range as error bars."""
    figure, (left, middle, right) = new_figure(1, 3, width=3.4, height=2.8)
    for i, (label, series) in enumerate(d.items()):
        scale = np.abs(series).max() or 1.0
        left.plot(series / scale, lw=0.5, color=f"C{i}", label=f"{label} (÷ {scale:.2g})", alpha=0.8)
    left.axhline(0, color="k", lw=0.6, ls="--")
    left.set_xlabel("update t")
    left.set_ylabel("d_t / max |d_t|")
    left.set_title("energy difference d_t", fontsize=9)
    left.legend(fontsize=6)
    for i, (label, series) in enumerate(r.items()):
        middle.plot(series, lw=0.7, color=f"C{i}", label=label)
    middle.set_yscale("log")
    middle.set_xlabel("update t")
    middle.set_ylabel("r_t = mean |∇F| per step")
    middle.set_title("gradient magnitude r_t", fontsize=9)
    middle.legend(fontsize=6)
    width = 0.8 / max(len(acf), 1)
    for i, (label, values) in enumerate(acf.items()):
        values = np.atleast_2d(np.asarray(values).T).T  # (K + 1, members)
        lags = np.arange(values.shape[0])
        median = np.median(values, axis=1)
        spread = np.stack([median - values.min(1), values.max(1) - median])
        right.bar(lags + (i - (len(acf) - 1) / 2) * width, median, width, yerr=spread, color=f"C{i}", label=label,
                  error_kw={"lw": 0.6})
    right.axhline(0, color="k", lw=0.6)
    right.set_xlabel("lag")
    right.set_ylabel("autocorrelation of d_t")
    right.set_title("oscillation of d_t", fontsize=9)
    right.legend(fontsize=6)
    return finish(figure)


def _tiles(images: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """(n, H, W) -> one mosaic of ``columns`` columns separated by ``gap`` grey pixels, clipped to [-1, 1]."""
    n, height, width = images.shape
    rows = -(-n // columns)
    mosaic = np.zeros((rows * (height + gap) - gap, columns * (width + gap) - gap))
    for k, image in enumerate(np.clip(images, -1, 1)):
        i, j = divmod(k, columns)
        top, left = i * (height + gap), j * (width + gap)
        mosaic[top:top + height, left:left + width] = image
    return mosaic


def digit_panels(short: np.ndarray, long: np.ndarray, steps: np.ndarray, u_long: np.ndarray, u_data: float,
                 fd_long: np.ndarray, fd_short: float, columns: int = 8) -> Figure:
    """Short-run samples, the long run's last states (from data), and along the long run the mean energy
    against the data's (-U on a log scale when every energy is negative) and the FD against the short-run
    samples'. Images (n, H, W) in [-1, 1] (clipped for display)."""
    figure, axes = new_figure(1, 4, width=2.6, height=2.6)
    for ax, images, title in ((axes[0], short, "short-run (from noise)"), (axes[1], long, "long-run (from data)")):
        ax.imshow(_tiles(np.asarray(images), columns), cmap="gray", vmin=-1, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[2].plot(steps, -np.asarray(u_long), "o-", ms=3, label="long-run chains")
    axes[2].axhline(-u_data, color="k", ls="--", lw=0.8, label="data")
    axes[2].set_yscale("log" if np.all(np.asarray(u_long) < 0) and u_data < 0 else "symlog")
    axes[2].set_xlabel("Langevin step")
    axes[2].set_ylabel("−mean U (higher: lower energy)")
    axes[2].set_title("energy along the long run", fontsize=8)
    axes[2].legend(fontsize=6)
    axes[3].plot(steps, fd_long, "o-", ms=3, color="C3", label="long-run chains")
    axes[3].axhline(fd_short, color="C0", ls="--", lw=0.8, label="short-run samples")
    axes[3].set_yscale("log")
    axes[3].set_xlabel("Langevin step")
    axes[3].set_ylabel("FD (classifier features)")
    axes[3].set_title("FD along the long run", fontsize=8)
    axes[3].legend(fontsize=6)
    return finish(figure)
