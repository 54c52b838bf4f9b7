"""Grid quadrature and box probabilities of notebook 07 (metrics/quadrature.py) on cases with known answers."""

import math

import pytest
import torch
from latentebm.metrics import quadrature


def test_grid_cells_centres_and_boxes():
    grid = quadrature.grid_and_boxes(16, half_width=2.0, boxes=8)
    assert grid.axis.shape == (16,) and grid.points.shape == (256, 2)
    assert grid.axis[0].item() == pytest.approx(-2.0 + 0.125) and grid.cell_area == pytest.approx(0.0625)
    # every box holds (16 / 8)^2 cells, and the first coordinate picks the box row
    assert torch.bincount(grid.box_index).tolist() == [4] * 64
    assert grid.box_index[grid.points[:, 0].argmax()] // 8 == 7 and grid.box_index[0] == 0


@pytest.mark.parametrize("cells", [12, 4, 0])
def test_cells_must_be_a_multiple_of_the_boxes(cells):
    with pytest.raises(ValueError, match="multiple"):
        quadrature.grid_and_boxes(cells, boxes=8)


def test_box_masses_of_a_gaussian_match_its_cdf():
    grid = quadrature.grid_and_boxes(400, half_width=3.0, boxes=8)
    density = torch.exp(-0.5 * (grid.points**2).sum(1)) / (2 * math.pi)
    masses = quadrature.box_masses(density * grid.cell_area, grid)
    normal = torch.distributions.Normal(0.0, 1.0)
    edges = torch.linspace(-3.0, 3.0, 9, dtype=torch.float64)
    per_axis = normal.cdf(edges[1:]) - normal.cdf(edges[:-1])
    torch.testing.assert_close(masses, torch.outer(per_axis, per_axis).reshape(-1), rtol=1e-4, atol=1e-7)


def test_sample_box_masses_count_and_weigh_points():
    grid = quadrature.grid_and_boxes(8, half_width=4.0, boxes=4)  # boxes of width 2
    points = torch.tensor([[-3.0, -3.0], [-3.5, -2.5], [1.0, 3.0], [5.0, 0.0]], dtype=torch.float64)
    frequency = quadrature.sample_box_masses(points, grid)
    assert frequency[0].item() == 0.5 and frequency[2 * 4 + 3].item() == 0.25 and frequency.sum().item() == 0.75
    weights = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    weighted = quadrature.sample_box_masses(points, grid, weights)
    assert weighted[0].item() == pytest.approx(0.3) and weighted[11].item() == pytest.approx(0.3)


def test_z_scores_of_exact_frequencies_are_zero_and_skip_empty_boxes():
    quad = torch.tensor([0.5, 0.25, 0.25, 0.0], dtype=torch.float64)
    stderr, z = quadrature.box_z_scores(quad, quad, n=100)
    assert z.tolist() == [0.0, 0.0, 0.0]
    assert stderr[0].item() == pytest.approx(0.05)
    _, z = quadrature.box_z_scores(quad, torch.tensor([0.55, 0.25, 0.2, 0.0], dtype=torch.float64), n=100)
    assert z[0].item() == pytest.approx(1.0)
