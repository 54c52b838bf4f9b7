"""Divergences between distributions, and the estimators of seed 001 built on their variational forms.

- :mod:`.fdiv`: phi-divergences, their Fenchel conjugates and output activations (notebook 01).
- :mod:`.variational`: the :class:`~.variational.Measure` (samples or quadrature), the variational bounds (1)
  and (2), the one KALE objective on energies (``kale_bound``, ``dv_bound``) and the critic fit (``fit_critic``).
- :mod:`.kale`: KALE over neural critic classes (Lipschitz by spectral normalisation, or norm-penalised).
- :mod:`.kale_rkhs`: the RKHS-penalised KALE ("smoothie"), solved exactly by damped Newton with a certified
  duality gap (notebooks 02, 03).
- :mod:`.mmd`: maximum mean discrepancy, the smoothie's large-penalty limit.
- :mod:`.gaussian`: closed forms and quadrature for 1-D Gaussian pairs, the references the estimators meet.
- :mod:`.gebm_gaussian`: the GEBM's inner KALE problem on Gaussians in closed form, and KALE over a ball of
  linear energies (notebook 04).
- :mod:`.short_run_kl`: the KL from the short-run inference distribution to the posterior, and the step size
  minimising it (seed 002).
"""
