"""Support and mass errors on a known manifold, against cases whose answer is known."""

import pytest
import torch
from latentebm.metrics.manifold import support_and_mass


def _line(n):
    s = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    return torch.stack([s, torch.zeros_like(s)], 1), s


def test_held_out_points_themselves_have_no_error():
    x, s = _line(101)
    errors, histograms = support_and_mass({"same": x}, x, s, torch.linspace(0, 1, 11, dtype=torch.float64))
    assert errors["same"] == (0.0, pytest.approx(0.0, abs=1e-12))
    assert torch.allclose(histograms["same"], histograms["held-out data"])


def test_a_shift_off_the_line_is_its_distance_and_keeps_the_mass():
    x, s = _line(101)
    errors, _ = support_and_mass({"shifted": x + torch.tensor([0.0, 0.3], dtype=torch.float64)}, x, s,
                                 torch.linspace(0, 1, 11, dtype=torch.float64))
    assert errors["shifted"][0] == pytest.approx(0.3)
    assert errors["shifted"][1] == pytest.approx(0.0, abs=1e-12)


def test_all_mass_in_the_first_half_is_half_the_total_variation():
    x, s = _line(100)
    edges = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    errors, histograms = support_and_mass({"left": x[:50]}, x, s, edges)
    assert errors["left"][0] == 0.0
    assert errors["left"][1] == pytest.approx(0.5)
    assert histograms["left"].tolist() == [1.0, 0.0]
