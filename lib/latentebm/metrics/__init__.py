"""Metrics: sample quality (Fréchet distances on classifier features, :mod:`.frechet`), likelihoods and log Z
(:mod:`.likelihood`), support and mass on a known manifold (:mod:`.manifold`), distances between samples
(:mod:`.sample_distances`, :mod:`.wasserstein`) and quadrature (:mod:`.quadrature`)."""
