from latentebm.catalogue import Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

SPEC = NotebookSpec(
    name="05_gebm_training",
    title="Training a GEBM: toys on manifolds, MNIST (ci) / CIFAR-10 (full), generator alone vs GEBM",
    derives="seed 001 (Arbel, Zhou, Gretton): the GEBM trained by KALE over E + R with the gradient theorem's "
    "base step; the toy claim (generator: support not mass; EBM: mass but blurred; GEBM: both) and the "
    "relative sample quality FD(GEBM) / FD(generator alone) against the paper's relative FID.",
    knobs=(
        Knob("toy_points", 2000, 5000, "points per toy data set (half held out)", minimum=100),
        Knob("toy_steps", 150, 5000, "base steps per toy model", minimum=1),
        Knob("toy_hidden", 32, 256, "hidden width of toy MLPs", minimum=4),
        Knob("dataset", "mnist_subset", "cifar10", "image data", kind=str, choices=("mnist_subset", "cifar10")),
        Knob("image_steps", 150, 65000, "base steps on images", minimum=1),
        Knob("classifier_steps", 300, 5000, "steps of the feature classifier for the Frechet distance", minimum=1),
        Knob("langevin_steps", 50, 1000, "latent Langevin steps for GEBM samples", minimum=1),
        Knob("langevin_step_size", 1e-2, 1e-4, "latent Langevin step size", kind=float, minimum=0.0),
        Knob("beta", 1.0, 100.0, "inverse temperature of the latent posterior (paper samples at 100)",
             kind=float, minimum=0.0),
        Knob("n_fd_samples", 500, 10000, "samples per Frechet distance", minimum=10),
        Knob("n_sampling_seeds", 2, 5, "sampler seeds for the spread of the FD ratio", minimum=1),
        Knob("amp", False, True, "mixed precision (bfloat16 autocast) on cuda", kind=bool),
    ),
    headlines=(
        Headline("toy_curve_mass_error_generator", "curve: mass error (TV), generator alone",
                 "large (paper: wrong mass)"),
        Headline("toy_curve_mass_error_gebm", "curve: mass error (TV), GEBM", "small (paper: right mass)"),
        Headline("toy_curve_off_support_ebm", "curve: off-support distance, EBM with a density", "large (blurred)"),
        Headline("toy_curve_off_support_gebm", "curve: off-support distance, GEBM", "small"),
        Headline("fd_ratio_mean", "FD (classifier features) ratio GEBM / generator alone, mean over sampler seeds",
                 "relative FID 0.73 (CIFAR-10, latent Langevin)"),
        Headline("fd_ratio_sd", "its standard deviation over sampler seeds", "—"),
        Headline("classifier_test_accuracy", "feature classifier accuracy on held-out images", "—"),
    ),
    figures=(
        KeyFigure("toy_metrics", "support and mass errors on held-out data (trained models: tolerance covers "
                  "round-off drift across machines, not a change of method)", rtol=0.15, atol=0.03),
        KeyFigure("learning_curves", "KALE, c vs log Z, energies (smoothed, trained model: loose tolerance)",
                  rtol=0.1, atol=0.05),
        KeyFigure("image_samples", "FD per sampler seed, generator alone vs GEBM (trained model: loose tolerance)",
                  rtol=0.15, atol=0.05),
    ),
)
