"""latentebm: a reproducible companion to generalized energy-based and latent-variable generative models.

Modules are organised by concept, on floors; an import only points down (``tests/test_layers.py``):

- top: ``catalogue`` (one spec per notebook: the seed result it derives, knobs, key figures, paper numbers),
  ``parameters`` (profiles, validation, resolution: one clear error per bad value), ``reporting`` (metrics,
  figure arrays, run records, the notebook pipeline and the HTML index)
- ``experiments``  recipes: one module per trained thing a notebook needs (frozen recipe per profile,
  ``train_or_load``)
- ``training``     loops with checkpoints that resume exactly, progress logs and a divergence guard
- concepts: ``divergences`` (f-divergences, duals, KALE), ``models`` (networks and the model store),
  ``samplers`` (Markov chains over latent or data space, one registry), ``data`` (offline ``ci`` data,
  hash-checked downloads), ``metrics`` (sample quality, likelihoods), ``plotting`` (arrays in, Figure out)
- bottom: ``runtime`` (devices, numerics, named random streams), ``ops`` (shared numerical primitives),
  ``guards`` (NaN / divergence checks), ``checkfile`` (checksummed files), ``paths``
"""

__version__ = "0.1.0"
