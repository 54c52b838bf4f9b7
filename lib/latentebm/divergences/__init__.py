"""Divergences between distributions: f-divergences and their Fenchel duals (:mod:`.fdiv`), closed forms for
Gaussians (:mod:`.gaussian`), and variational (critic-based) estimators (:mod:`.variational`)."""
