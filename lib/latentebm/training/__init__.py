"""Training loops, one module per model family: :mod:`.gebm` (KALE over E + R, the GEBM), :mod:`.ebm` (energies
on a Real NVP base by KALE, DV or contrastive divergence), :mod:`.flows` (Real NVP by maximum likelihood),
:mod:`.abp` (alternating back-propagation, short-run inference, the VAE baseline), :mod:`.ml_ebm` (EBMs by
maximum likelihood with Langevin negatives), :mod:`.iwae` (VAE and IWAE on binary images), :mod:`.adversarial`
(GAN, IWGAN, the 2-D VAE and the adversary-activated VAE). :mod:`.loop` holds what
every loop shares: checkpoints that resume exactly and refuse another config, and the progress log. Recipes
that call these loops live in :mod:`latentebm.experiments`.
"""
