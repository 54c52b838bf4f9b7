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
- :mod:`.joint_kl`: KL between inference and generation joints on enumerable models: the chain rule, the VAE's
  and the DAE's joint KL (seed 003, notebook 17).
- :mod:`.importance_weighted`: the IWAE bound, the seed's printed version, self-normalised weights and
  resampling (seed 003, notebook 17).
- :mod:`.unifying`: Lemma 1 of Hu et al. by quadrature, and forward against reverse KL fits (seed 004,
  notebook 18).
"""
