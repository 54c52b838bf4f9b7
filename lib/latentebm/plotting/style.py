"""Shared figure helpers. The backend is left to the caller: inline in a notebook kernel, whatever
``MPLBACKEND`` says elsewhere (the tests and the report pipeline set ``Agg``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def new_figure(n_rows: int = 1, n_cols: int = 1, width: float = 4.0, height: float = 3.2, **kwargs):
    """A (Figure, axes) pair sized per panel; ``axes`` is squeezed like ``plt.subplots``."""
    figure, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows), **kwargs)
    figure.set_layout_engine("constrained")
    return figure, axes


def finish(figure: Figure) -> Figure:
    """Detach the figure from pyplot's registry (no double display in notebooks) and return it."""
    plt.close(figure)
    return figure
