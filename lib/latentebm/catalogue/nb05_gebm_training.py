from latentebm.catalogue import Check, Claim, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.experiments import gebm_images, gebm_toys
from latentebm.parameters import Knob

CI, FULL = gebm_toys.recipe("ci", "curve"), gebm_toys.recipe("full", "curve")
IMAGES_CI, IMAGES_FULL = gebm_images.RECIPES["ci"], gebm_images.RECIPES["full"]

TOY_SLIDE = "seed 001, slides 'Reminder: the generator' and 'Generalized energy-based models' (the toys)"

SPEC = NotebookSpec(
    name="05_gebm_training",
    threads=1,  # seeds train in one-thread workers; this process too, so that workers=1 trains the same models
    title="Training a GEBM: toys on manifolds, MNIST (ci) / CIFAR-10 (full), generator alone vs GEBM",
    derives="seed 001 (Arbel, Zhou, Gretton): the GEBM trained by KALE over E + R with the gradient theorem's "
    "base step; the toy claim (generator: support not mass; EBM: mass but blurred; GEBM: both) and the "
    "relative sample quality FD(GEBM) / FD(generator alone) against the paper's relative FID.",
    knobs=(
        Knob("n_toy_seeds", 5, 5, "seeds per toy (each a fresh draw of data, initialisation and training)", minimum=1),
        Knob("workers", 2, 2, "CPU worker processes that train seeds side by side (on cuda: one after another)",
             minimum=1),
        Knob("toy_points", CI.points, FULL.points, "points per toy data set (half held out)", minimum=100),
        Knob("toy_steps", CI.train.steps, FULL.train.steps,
             "base steps per toy GEBM (and energy rounds of the toy EBM)", minimum=1),
        Knob("toy_refit_steps", CI.refit_steps, FULL.refit_steps,
             "energy rounds of the refit at the final toy base", minimum=1),
        Knob("toy_base_hidden", CI.base_hidden, FULL.base_hidden,
             "hidden width of the toy generators (narrow: they cannot place the mass)",
             minimum=2),
        Knob("toy_hidden", CI.energy_hidden, FULL.energy_hidden, "hidden width of the toy energies", minimum=4),
        Knob("toy_pool", 100000, 400000, "base draws resampled by importance weights for toy model samples",
             minimum=100),
        Knob("toy_langevin_steps", 300, 1000, "latent Langevin steps (beta 1, step 1e-2) on the toys", minimum=1),
        Knob("image_steps", IMAGES_CI.train.steps, IMAGES_FULL.train.steps,
             f"base steps on images ({IMAGES_CI.dataset} in ci, {IMAGES_FULL.dataset} in full)", minimum=1),
        Knob("n_train_seeds", 5, 3, "image models trained (streams gebm_images/train/0, 1, ...) for the spread of "
             "the FD ratio", minimum=1),
        Knob("classifier_steps", IMAGES_CI.classifier_steps, IMAGES_FULL.classifier_steps,
             "steps of the feature classifier for the Frechet distance", minimum=1),
        Knob("langevin_steps", 400, 1000, "latent Langevin steps for GEBM image samples (at most, when stopped on "
             "validation)", minimum=1),
        Knob("langevin_eval_every", 25, 50, "Langevin steps between validation scores (the early-stopping grid)",
             minimum=1),
        Knob("langevin_step_size", 1e-4, 1e-4, "latent Langevin step size at beta (times beta at beta 1)",
             kind=float, minimum=0.0),
        Knob("beta", 100.0, 100.0, "inverse temperature of the latent posterior (the paper samples at 100)",
             kind=float, minimum=0.0),
        Knob("n_fd_samples", 500, 10000, "samples per Frechet distance", minimum=10),
        Knob("amp", IMAGES_CI.train.amp, IMAGES_FULL.train.amp, "mixed precision (bfloat16 autocast) on cuda",
             kind=bool),
    ),
    comparisons=(
        Comparison("relative_fd", "the GEBM's samples are better than its generator's alone (relative FID 0.73 on "
                   "CIFAR-10 with latent Langevin)",
                   direction=(Check("fd_ratio_mean", "<", 1.0),), shows=("fd_ratio_sd",),
                   paper="relative FID 0.73", source="seed 001, slide 'Experiments'",
                   differs="Fréchet distance in our classifier's features on small digit images (ci), not FID with "
                   "Inception on CIFAR-10"),
    ),
    headlines=(
        *(Headline(f"toy_{toy}_{what}_{model}_mean", f"{toy}: {label}, {name}, mean over seeds", paper)
          for toy in ("curve", "sphere")
          for model, name, paper_support, paper_mass in (
              ("generator", "generator alone", "small", "large (wrong mass)"),
              ("ebm", "EBM with a density", "large (blurred)", "small"),
              ("gebm", "GEBM", "small", "small (right mass)"))
          for what, label, paper in (("off_support", "off-support distance", paper_support),
                                     ("mass_error", "mass error (TV)", paper_mass))),
        Headline("fd_generator_mean", "FD (classifier features) of the generator alone, mean over seeds", "—"),
        Headline("fd_ratio_mean", "FD ratio GEBM / generator alone, latent Langevin at beta 100 stopped on "
                 "validation, mean over training seeds", "relative FID 0.73 (CIFAR-10, latent Langevin)"),
        Headline("fd_ratio_sd", "its standard deviation over training seeds", "—"),
        Headline("fd_ratio_fixed_mean", "the same ratio after all langevin_steps steps (no stopping), mean", "—"),
        Headline("fd_ratio_fixed_sd", "its standard deviation over training seeds", "—"),
        Headline("fd_ratio_beta1_mean", "FD ratio with GEBM samples at beta 1 (the model itself)", "—"),
        Headline("ess_fraction_beta1", "ESS of exp(-E) over base samples / sample size (1: E reweights nothing)",
                 "—"),
        Headline("fd_ratio_prior_spread_sd", "standard deviation of FD(second prior batch) / FD(first): the "
                 "ratio's Monte-Carlo spread at this sample size", "—"),
        Headline("c_minus_log_z_max", "largest |c - log Z| over training seeds (log Z by Monte Carlo)", "—"),
        Headline("classifier_test_accuracy", "feature classifier accuracy on held-out images", "—"),
    ),
    claims=(
        *(claim for toy in ("curve", "sphere") for claim in (
            Claim(f"toy_{toy}_generator", f"{toy}: the generator alone gets the support but not the mass",
                  "generator's off-support distance below the EBM's, and its mass error above the EBM's",
                  "figure: generator on the manifold, wrong mass", source=TOY_SLIDE),
            Claim(f"toy_{toy}_ebm", f"{toy}: the EBM with a density gets the mass but blurs",
                  "EBM's mass error below the generator's, and its off-support distance above the GEBM's",
                  "figure: EBM mass right, samples off the manifold", source=TOY_SLIDE),
            Claim(f"toy_{toy}_gebm", f"{toy}: the GEBM gets both the support and the mass",
                  "GEBM's off-support distance below both others', and its mass error below the generator's",
                  "figure: GEBM on the manifold with the right mass", source=TOY_SLIDE))),
        Claim("images_fixed", "GEBM samples (latent Langevin, beta 100) are better than the generator's",
              "FD ratio after all langevin_steps steps, mean over the feature classifiers, below 0.9 (per training "
              "seed; two independent batches of 500 prior draws give FD ratios of standard deviation about 0.07)",
              "relative FID 0.73", source="seed 001, slide 'Experiments'"),
        Claim("images_stopped", "the same, with the number of Langevin steps chosen on a validation set",
              "FD ratio at the step of lowest validation FD (training images), mean over the feature classifiers, "
              "below 0.9 (per training seed)", "relative FID 0.73", source="seed 001, slide 'Experiments'"),
    ),
    figures=(
        KeyFigure("toy_metrics", "support and mass errors on held-out data, every toy, seed and model (trained "
                  "models: tolerance covers round-off drift across machines, not a change of method)",
                  rtol=0.15, atol=0.03),
        KeyFigure("toy_mass", "mass along each manifold: held-out data, generator alone, EBM, GEBM (trained models: "
                  "tolerance covers round-off drift across machines)", rtol=0.15, atol=0.03),
        KeyFigure("learning_curves", "KALE, c vs log Z, energies (smoothed, trained model: loose tolerance)",
                  rtol=0.1, atol=0.05),
        KeyFigure("image_samples", "FD per (training seed, classifier), generator alone vs GEBM, fixed and stopped "
                  "(trained models: loose tolerance)", rtol=0.15, atol=0.05),
        KeyFigure("langevin_steps", "held-out FD ratio along the Langevin chain, per training seed, and the step "
                  "chosen on validation (trained models: loose tolerance)", rtol=0.15, atol=0.05),
    ),
)
