"""Networks and the model store, one module per family; nothing here trains (that is :mod:`latentebm.training`).

- :mod:`.critics`: critic classes of the f-divergence and KALE duals (MLP, spectrally normalised, linear).
- :mod:`.generators`: base networks B_theta of a GEBM (shift, fixed Gaussian, MLP, DCGAN, SNGAN).
- :mod:`.energies`: energies E (quadratic, MLP, ConvNet), optionally floored or bounded.
- :mod:`.gebm`: a GEBM's (base, energy) pair built from a plain config.
- :mod:`.flows`: Real NVP, the base with a density of the sanity check.
- :mod:`.latent_generators`, :mod:`.vae`, :mod:`.factor_analysis`: x = g(z) + eps generators, the VAE's
  encoder and its Bernoulli log weights, and factor analysis (the linear case with a closed-form posterior and
  evidence; probabilistic PCA fitted in closed form).
- :mod:`.rbm`: a binary RBM small enough to enumerate, and its Gibbs chains as paths (seed 003).
- :mod:`.store`: trained models saved by name with their config and a checksum.
"""
