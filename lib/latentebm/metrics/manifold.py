"""Support and mass errors of samples against held-out data on a known manifold (the GEBM toy claims:
"a generator gets the support but not the mass, an EBM the mass but blurs, a GEBM both").

- off-support distance: mean over samples of the distance to the nearest held-out point (small = on the support);
- mass error: total variation between histograms of the manifold coordinate s, the samples' s taken from their
  nearest held-out point (0 = the right mass along the manifold, 1 = disjoint).
"""

from __future__ import annotations

import torch


def nearest(samples: torch.Tensor, reference: torch.Tensor, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of the nearest reference point for each sample; samples: (n, D), reference: (m, D)."""
    dists, idx = [], []
    for i in range(0, samples.shape[0], chunk):
        d = torch.cdist(samples[i:i + chunk].double(), reference.double())
        value, index = d.min(1)
        dists.append(value)
        idx.append(index)
    return torch.cat(dists), torch.cat(idx)




def coordinate_histogram(s: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Normalised histogram of s: (n,) over the bins ``edges``: (K+1,) (values outside go to the end bins)."""
    index = torch.bucketize(s.double().clamp(edges[0], edges[-1]), edges[1:-1])
    counts = torch.bincount(index, minlength=edges.shape[0] - 1).double()
    return counts / counts.sum()






def support_and_mass(samples: dict[str, torch.Tensor], held_out: torch.Tensor, held_out_s: torch.Tensor,
                     edges: torch.Tensor) -> tuple[dict[str, tuple[float, float]], dict[str, torch.Tensor]]:
    """For each labelled sample set (n, D): (off-support distance, mass error) against the held-out points
    (m, D) with coordinates held_out_s: (m,), and the coordinate histogram over ``edges`` behind the mass error,
    from one nearest-neighbour search per set. Returns ({label: (distance, mass error)},
    {"held-out data": histogram, label: histogram, ...})."""
    reference = coordinate_histogram(held_out_s, edges)
    histograms = {"held-out data": reference}
    errors = {}
    for label, x in samples.items():
        distance, index = nearest(x, held_out)
        histograms[label] = coordinate_histogram(held_out_s[index], edges)
        errors[label] = (float(distance.mean()), float(0.5 * (histograms[label] - reference).abs().sum()))
    return errors, histograms
