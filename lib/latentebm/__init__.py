"""latentebm: a reproducible companion to generalized energy-based and latent-variable generative models.

Modules are organised by concept, not by notebook:

- ``parameters``  notebook parameters: profiles, validation, resolution (one clear error per bad value)
- ``catalogue``   one module per notebook: which seed result it derives, its knobs, key figures, paper numbers
- ``runtime``     device choice and seeding
- ``divergences`` f-divergences, their Fenchel duals, KALE
- ``models``      critics, generators, energies, flows
- ``samplers``    Markov chains over latent or data space
- ``training``    training loops with checkpoints, progress logs and a divergence guard
- ``data``        datasets (offline ``ci`` data and hash-checked downloads for ``full``)
- ``metrics``     sample-quality and likelihood metrics
- ``plotting``    functions that take arrays and return a matplotlib Figure
- ``reporting``   headline metrics, figure arrays, run records, the notebook pipeline and the HTML index
"""

__version__ = "0.1.0"
