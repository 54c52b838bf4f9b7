"""Particle gradient flows (seed 001, post-credit slide: Arbel, Korba, Salim & Gretton, MMD gradient flow).

- :mod:`.noise`: the noise levels beta_n of noise injection and of the diffusion variant.
- :mod:`.witness`: the MMD witness f_{mu,nu} and its gradient in closed form for a Gaussian kernel, F(nu) and the
  descent lemma's constants.
- :mod:`.flow`: one step function over an explicit state for the MMD flow (plain, noise injection, diffusion)
  and the KALE flow.
- :mod:`.student_teacher`: a mean-field student of independent particles against a teacher network, trained by
  the flow's SGD.
"""
