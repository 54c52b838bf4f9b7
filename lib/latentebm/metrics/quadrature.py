"""A 2-D density against its samples, on a square cut into cells and boxes (seed 001, "Sanity check: reduction
to EBM case": notebook 07 checks that the change-of-variables density of a Real NVP is the density of its
sampler, and that the GEBM's importance weights on base samples give the EBM exp(-r)/Z).

The square ``[-h, h]^2`` is cut into ``G x G`` cells (midpoint quadrature) and into ``b x b`` boxes of
``G / b`` cells a side. A box's probability under a density ``q`` is ``sum_cells q(centre) * cell area``; under
a sample set it is the fraction of the samples (or of their normalised weights) that fall in it. Boxes are
numbered ``i * b + j`` for box row ``i`` (first coordinate) and column ``j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Grid:
    """Cell centres of ``[-half_width, half_width]^2``: ``axis (G,)``, ``points (G*G, 2)`` (first coordinate
    slowest), the ``cell_area``, and each cell's box index ``box_index (G*G,)`` among ``boxes**2`` boxes."""

    axis: torch.Tensor
    points: torch.Tensor
    cell_area: float
    box_index: torch.Tensor
    half_width: float
    boxes: int


def grid_and_boxes(cells: int, half_width: float = 3.0, boxes: int = 8,
                   dtype: torch.dtype = torch.float64) -> Grid:
    """The grid of ``cells x cells`` cells on ``[-half_width, half_width]^2``, grouped into ``boxes x boxes``
    boxes; ``cells`` must be a multiple of ``boxes`` (ValueError otherwise)."""
    if cells < boxes or cells % boxes:
        raise ValueError(f"cells per axis must be a positive multiple of the {boxes} boxes per axis, got {cells}")
    h = 2 * half_width / cells
    axis = -half_width + h * (torch.arange(cells, dtype=dtype) + 0.5)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    box = torch.arange(cells) // (cells // boxes)
    box_index = (box[:, None] * boxes + box[None, :]).reshape(-1)
    return Grid(axis, torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), h * h, box_index, half_width, boxes)


def box_masses(values: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Sum ``values (G*G,)`` (e.g. density times cell area) within each box: ``(boxes**2,)``."""
    return torch.zeros(grid.boxes**2, dtype=values.dtype).index_add_(0, grid.box_index, values)


def sample_box_masses(points: torch.Tensor, grid: Grid, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Each box's share of ``points (n, 2)``: the fraction of the points in it, or, with ``weights (n,)``
    (summing to 1), the total weight of its points; points outside the square count for no box."""
    inside = (points.abs() < grid.half_width).all(1)
    width = 2 * grid.half_width / grid.boxes
    ij = ((points[inside] + grid.half_width) // width).long().clamp(0, grid.boxes - 1)
    index = ij[:, 0] * grid.boxes + ij[:, 1]
    if weights is None:
        return torch.bincount(index, minlength=grid.boxes**2) / points.shape[0]
    return torch.zeros(grid.boxes**2, dtype=weights.dtype).index_add_(0, index, weights[inside])


def box_z_scores(quadrature: torch.Tensor, frequency: torch.Tensor, n: int,
                 min_mass: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """Binomial standard errors ``sqrt(pi (1 - pi) / n)`` of each box's sample frequency under the quadrature
    probabilities ``pi``, and the z-scores ``(frequency - pi) / stderr`` of the boxes with ``pi > min_mass``."""
    stderr = torch.sqrt(quadrature * (1 - quadrature) / n)
    kept = quadrature > min_mass
    return stderr, (frequency - quadrature)[kept] / stderr[kept]
