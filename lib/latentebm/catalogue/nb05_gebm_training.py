from latentebm.catalogue import Headline, KeyFigure, NotebookSpec
from latentebm.experiments import gebm_images, gebm_toys
from latentebm.parameters import Knob

CI, FULL = gebm_toys.recipe("ci", "curve"), gebm_toys.recipe("full", "curve")
IMAGES_CI, IMAGES_FULL = gebm_images.RECIPES["ci"], gebm_images.RECIPES["full"]

SPEC = NotebookSpec(
    name="05_gebm_training",
    threads=2,
    title="Training a GEBM: toys on manifolds, MNIST (ci) / CIFAR-10 (full), generator alone vs GEBM",
    derives="seed 001 (Arbel, Zhou, Gretton): the GEBM trained by KALE over E + R with the gradient theorem's "
    "base step; the toy claim (generator: support not mass; EBM: mass but blurred; GEBM: both) and the "
    "relative sample quality FD(GEBM) / FD(generator alone) against the paper's relative FID.",
    knobs=(
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
        Knob("n_train_seeds", 3, 1, "image models trained (streams gebm_images/train/0, 1, ...) for the spread of "
             "the FD ratio",
             minimum=1),
        Knob("classifier_steps", IMAGES_CI.classifier_steps, IMAGES_FULL.classifier_steps,
             "steps of the feature classifier for the Frechet distance", minimum=1),
        Knob("langevin_steps", 200, 1000, "latent Langevin steps for GEBM image samples", minimum=1),
        Knob("langevin_step_size", 1e-4, 1e-4, "latent Langevin step size at beta (times beta at beta 1)",
             kind=float, minimum=0.0),
        Knob("beta", 100.0, 100.0, "inverse temperature of the latent posterior (the paper samples at 100)",
             kind=float, minimum=0.0),
        Knob("n_fd_samples", 500, 10000, "samples per Frechet distance", minimum=10),
        Knob("n_sampling_seeds", 1, 3, "sampler seeds per trained model", minimum=1),
        Knob("amp", IMAGES_CI.train.amp, IMAGES_FULL.train.amp, "mixed precision (bfloat16 autocast) on cuda",
             kind=bool),
    ),
    headlines=(
        Headline("toy_curve_off_support_generator", "curve: off-support distance, generator alone", "small"),
        Headline("toy_curve_mass_error_generator", "curve: mass error (TV), generator alone",
                 "large (paper: wrong mass)"),
        Headline("toy_curve_off_support_ebm", "curve: off-support distance, EBM with a density", "large (blurred)"),
        Headline("toy_curve_mass_error_ebm", "curve: mass error (TV), EBM with a density", "small"),
        Headline("toy_curve_off_support_gebm", "curve: off-support distance, GEBM", "small"),
        Headline("toy_curve_mass_error_gebm", "curve: mass error (TV), GEBM", "small (paper: right mass)"),
        Headline("toy_sphere_off_support_generator", "sphere: off-support distance, generator alone", "small"),
        Headline("toy_sphere_mass_error_generator", "sphere: mass error (TV), generator alone", "large"),
        Headline("toy_sphere_off_support_ebm", "sphere: off-support distance, EBM with a density", "large"),
        Headline("toy_sphere_mass_error_ebm", "sphere: mass error (TV), EBM with a density", "small"),
        Headline("toy_sphere_off_support_gebm", "sphere: off-support distance, GEBM", "small"),
        Headline("toy_sphere_mass_error_gebm", "sphere: mass error (TV), GEBM", "small"),
        Headline("fd_generator_mean", "FD (classifier features) of the generator alone, mean", "—"),
        Headline("fd_ratio_mean", "FD ratio GEBM (latent Langevin, beta 100) / generator alone, mean over seeds",
                 "relative FID 0.73 (CIFAR-10, latent Langevin)"),
        Headline("fd_ratio_sd", "its standard deviation over (training seed, sampler seed)", "—"),
        Headline("fd_ratio_beta1_mean", "FD ratio with GEBM samples at beta 1 (the model itself)", "—"),
        Headline("ess_fraction_beta1", "ESS of exp(-E) over base samples / sample size (1: E reweights nothing)",
                 "—"),
        Headline("classifier_test_accuracy", "feature classifier accuracy on held-out images", "—"),
    ),
    figures=(
        KeyFigure("toy_metrics", "support and mass errors on held-out data (trained models: tolerance covers "
                  "round-off drift across machines, not a change of method)", rtol=0.15, atol=0.03),
        KeyFigure("toy_mass", "mass along each manifold: held-out data, generator alone, EBM, GEBM (trained models: "
                  "tolerance covers round-off drift across machines)", rtol=0.15, atol=0.03),
        KeyFigure("learning_curves", "KALE, c vs log Z, energies (smoothed, trained model: loose tolerance)",
                  rtol=0.1, atol=0.05),
        KeyFigure("image_samples", "FD per (training, sampler) seed, generator alone vs GEBM (trained model: "
                  "loose tolerance)",
                  rtol=0.15, atol=0.05),
    ),
)
