"""Figures of notebook 01 (f-divergences and their duals)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from latentebm.plotting.style import finish, new_figure


def conjugates(v: Mapping[str, np.ndarray], closed: Mapping[str, np.ndarray], numerical: Mapping[str, np.ndarray],
               labels: Mapping[str, str]) -> Figure:
    """phi*(v) in closed form (line) against the numerical sup on a grid (dots), one panel per divergence."""
    names = list(v)
    figure, axes = new_figure(2, (len(names) + 1) // 2, width=3.3, height=2.6)
    for ax, name in zip(axes.flat, names, strict=False):
        ax.plot(v[name], closed[name], color="C0", label="closed form")
        ax.plot(v[name][::4], numerical[name][::4], ".", color="C3", ms=4, label="sup on a grid")
        ax.set_title(labels[name], fontsize=10)
        ax.set_xlabel("v")
    axes.flat[0].set_ylabel(r"$\phi^*(v)$")
    axes.flat[0].legend(fontsize=8)
    return finish(figure)


def tangent_picture(u: np.ndarray, phi_u: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray,
                    touch_points: np.ndarray) -> Figure:
    """phi with tangents of slopes v; each tangent meets the vertical axis at -phi*(v)."""
    figure, ax = new_figure(width=5.0, height=3.6)
    ax.plot(u, phi_u, color="k", lw=2, label=r"$\phi(u) = u \log u$")
    for i, (slope, intercept, u0) in enumerate(zip(slopes, intercepts, touch_points, strict=True)):
        color = f"C{i}"
        ax.plot(u, intercept + slope * u, color=color, lw=1, label=f"slope v = {slope:.2f}")
        ax.plot([0.0], [intercept], "o", color=color)
        ax.plot([u0], [intercept + slope * u0], "x", color=color)
    ax.axvline(0.0, color="grey", lw=0.5)
    ax.set_ylim(phi_u.min() - 1.5, phi_u.max())
    ax.set_xlabel("u")
    ax.set_title(r"tangent of slope $v$ crosses $u=0$ at $-\phi^*(v)$", fontsize=10)
    ax.legend(fontsize=8)
    return finish(figure)


def bound_by_class(classes: Sequence[str], divergences: Sequence[str], values: np.ndarray,
                   truth: np.ndarray) -> Figure:
    """Grouped bars: the variational bound reached by each critic class (values: (D, C)), truth as a line."""
    figure, ax = new_figure(width=6.0, height=3.4)
    width = 0.8 / len(classes)
    positions = np.arange(len(divergences))
    for j, name in enumerate(classes):
        ax.bar(positions + (j - (len(classes) - 1) / 2) * width, values[:, j] / truth, width, label=name)
    ax.axhline(1.0, color="k", lw=1, ls="--", label="true divergence")
    ax.set_xticks(positions, divergences, fontsize=8, rotation=15)
    ax.set_ylabel("bound / true divergence")
    ax.set_ylim(0.0, 1.25)
    ax.legend(fontsize=8, loc="upper center", ncols=4)
    return finish(figure)


def disjoint_supports(shifts: np.ndarray, js: np.ndarray, lipschitz_kl: np.ndarray, lipschitz: float,
                      kl_trace_steps: np.ndarray, kl_traces: np.ndarray) -> Figure:
    """Left: JS dual and Lipschitz KL dual against the shift t. Right: unrestricted KL dual while training."""
    figure, (left, right) = new_figure(1, 2, width=4.2, height=3.3)
    left.plot(shifts, js, "o-", label="JS (MLP critic)")
    left.axhline(np.log(2.0), color="C0", ls="--", lw=1, label="log 2")
    left.plot(shifts, lipschitz_kl, "s-", color="C2", label=f"KL dual, {lipschitz:g}-Lipschitz critic")
    left.plot(shifts, lipschitz * shifts, ":", color="C2", label=r"$L\,t$")
    left.set_xlabel("distance t between the supports")
    left.legend(fontsize=8)
    for i, trace in enumerate(kl_traces):
        right.plot(kl_trace_steps, trace, color=f"C{i}", lw=1, label=f"t = {shifts[i]:g}")
    right.set_xlabel("optimiser step")
    right.set_ylabel("KL dual, unrestricted MLP critic")
    right.set_title("KL = inf: the bound keeps growing", fontsize=10)
    right.legend(fontsize=7)
    return finish(figure)
