"""Markov chains over a differentiable potential U(z), each a small step function over an explicit state.

- :mod:`.registry`: every sampler by name (``SAMPLERS["mala"]``) with one shape, ``init(z, potential, rng)``
  and ``step(state, potential, step_size, rng, **options)``, and its gradient evaluations per step.
- :mod:`.langevin` (ULA, MALA, kinetic Langevin), :mod:`.hmc` (HMC), :mod:`.baselines` (IMH; DOT, the
  transport baseline of the relative-FID table): the steps themselves.
- :mod:`.chains`: run a sampler under a step-size schedule (:mod:`.schedules`), keep a trace.
- :mod:`.potentials`: the GEBM latent potential U(z) = |z|^2/2 + beta E(B(z)), a Gaussian, value and gradient.
- :mod:`.diagnostics`: ESS, R-hat and rank plots (arviz); mode switches.
- :mod:`.nuts`: the one NUTS wrapper (numpyro, jax potential); :mod:`.reference` (toy GEBM, grid posterior,
  histogram TV) and :mod:`.nuts_reference` (notebook 08's toy generator posterior) for checking samplers.
- :mod:`.resampling`: sampling-importance-resampling from a reweighted base.
- :mod:`.quality`: Fréchet distance of the images of latent chains.
- :mod:`.inference`: posterior inference of a generator's latent (short-run Langevin, unrolled map).
"""
