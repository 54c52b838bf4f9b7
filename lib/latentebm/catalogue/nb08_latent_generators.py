from latentebm.catalogue import Check, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.catalogue.knobs import Knob
from latentebm.experiments.latent_generators import RECIPES

_CI, _FULL = RECIPES["ci"], RECIPES["full"]


def _recipe_knob(name: str, help: str, **checks) -> Knob:
    """A knob whose profile values are the recipe's (experiments/latent_generators.py holds every learning
    default); tuples are offered as lists."""
    ci, full = (getattr(r, name) for r in (_CI, _FULL))
    as_knob = (lambda v: list(v) if isinstance(v, tuple) else v)  # noqa: E731
    return Knob(name, as_knob(ci), as_knob(full), help, **checks)


SPEC = NotebookSpec(
    name="08_latent_generators",
    dtype="float64",  # the image part passes float32 explicitly
    threads=1,  # tiny networks: one thread is as fast here
    title="Latent generators: alternating back-propagation and short-run inference with a tuned step size",
    derives="seed 002 (arXiv 1606.08571 and 1912.01909): maximum likelihood for x = g(z) + eps with an inner "
    "posterior sampler (persistent Langevin, short-run gradient ascent), and the step size minimising "
    "KL(q_s || p(z|x)) through the log-determinant of the K-step map.",
    knobs=(
        _recipe_knob("n_steps", "K: short-run inference steps (the authors' 25)", minimum=1),
        Knob("fa_dims", [10, 3], [50, 10], "factor analysis: data and latent dimensions", kind=list, element=int,
             minimum=1),
        Knob("fa_sigma", 0.5, 0.5, "factor analysis: noise standard deviation", kind=float, minimum=1e-3),
        Knob("fa_grid", [0.03, 0.05, 0.07, 0.09, 0.11, 0.13, 0.15, 0.17, 0.2, 0.25],
             [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.14, 0.17, 0.2, 0.25],
             "step sizes at which the KL is drawn", kind=list, minimum=1e-4),
        Knob("chains", 500, 5000, "prior draws (chains) in the Monte-Carlo KL objective", minimum=10),
        Knob("toy_sigma", 0.5, 0.5, "nonlinear toy: noise standard deviation", kind=float, minimum=1e-3),
        Knob("nuts_warmup", 300, 2000, "NUTS warm-up iterations per chain", minimum=10),
        Knob("nuts_samples", 500, 5000, "NUTS draws per chain", minimum=10),
        Knob("nuts_chains", 2, 4, "NUTS chains", minimum=1),
        _recipe_knob("dataset", "image set", kind=str, choices=("digits", "mnist_subset", "mnist")),
        _recipe_knob("n_test", "held-out images", minimum=10),
        _recipe_knob("latent_dims", "latent layer sizes of the one-layer model", kind=list, element=int, minimum=1),
        _recipe_knob("layered_dims", "latent layer sizes, top to bottom, of the layered model", kind=list,
                     element=int, minimum=1),
        _recipe_knob("hidden", "hidden width of generator and encoder", minimum=4),
        _recipe_knob("sigma", "observation noise sigma (the authors' 0.15)", kind=float, minimum=1e-3),
        _recipe_knob("train_steps", "learning steps per model", minimum=1),
        _recipe_knob("batch_size", "images per learning step", minimum=1),
        _recipe_knob("lr", "Adam learning rate", kind=float, minimum=0.0),
        _recipe_knob("s_init", "initial inference step size (the authors' fixed 0.05 in full)", kind=float,
                     minimum=1e-4),
        _recipe_knob("tune_every", "learning steps between two step-size tunings", minimum=1),
        _recipe_knob("tune_grid", "grid for the grid search of s", kind=list, minimum=1e-4),
        _recipe_knob("tune_batch", "images in the KL objective while tuning", minimum=1),
        _recipe_knob("abp_langevin_steps", "Langevin steps per visit of a persistent chain (ABP)", minimum=1),
        Knob("eval_grid", [0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8], [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8],
             "step sizes for the held-out reconstruction curve", kind=list, minimum=1e-4),
        Knob("n_seeds", 3, 5, "seeds for the step size over training", minimum=1),
        _recipe_knob("vae_steps", "VAE learning steps (as many as the other models)", minimum=1),
        Knob("checkpoint_every", 0, 1000, "learning steps between checkpoints (0: none)", minimum=0),
    ),
    comparisons=(
        Comparison("tuned_step", "the KL-tuned step size finds the KL's minimiser (factor analysis: within 10%)",
                   (Check("fa_s_tuned_over_true", "≈", 1.0, tol=0.1),), paper="1",
                   source="seed 002, short-run inference (arXiv 1912.01909)"),
        Comparison("kl_estimate", "the K-step Jacobian gives the KL (within 0.05 nats of the closed form at the "
                   "tuned s; a tolerance of ours: the estimate's Monte-Carlo error is not recorded)",
                   (Check("fa_kl_estimate_minus_closed", "<", 0.05, absolute=True),), paper="0",
                   source="seed 002, short-run inference (arXiv 1912.01909)"),
        Comparison("short_run_posterior", "short-run inference at the tuned s samples the posterior: its energy "
                   "distance to NUTS within 3x that of NUTS against itself (in direction: closer than the prior)",
                   (Check("toy_energy_distance", "<", "toy_energy_distance_nuts_halves", factor=3.0),),
                   direction=(Check("toy_energy_distance", "<", "toy_energy_distance_prior"),),
                   paper="an approximate posterior",
                   source="seed 002, short-run inference (arXiv 1912.01909)"),
        Comparison("nuts_converged", "the NUTS reference converged", (Check("nuts_r_hat_max", "<", 1.01),),
                   paper="R-hat < 1.01", source="arviz convention"),
        Comparison("step_size", "the tuned step size is near the authors' fixed s = 0.05 (within a factor 2)",
                   (Check("digits_s_tuned", "<", 0.1), Check("digits_s_tuned", ">", 0.025)),
                   paper="s = 0.05 (CelebA, their setting)", source="REFERENCE.md, 'Generator with latent variables'"),
        Comparison("reconstruction_u", "held-out reconstruction error against s has its minimum near s = 0.4 "
                   "(REFERENCE.md's test on the same digits; the grid's neighbours of 0.4 are 0.2 and 0.8)",
                   (Check("digits_s_best_reconstruction", "≈", 0.4, tol=0.1),),
                   paper="minimum at s = 0.4", source="REFERENCE.md, 'Generator with latent variables'"),
        Comparison("samples_beat_vae", "the short-run model's samples are better than a VAE's (pixel-space FD)",
                   (Check("fd_short_run", "<", "fd_vae"),), paper="short-run better than VAE (paper)",
                   source="seed 002, short-run inference (arXiv 1912.01909)"),
        Comparison("reconstruction_beats_vae", "the short-run model reconstructs held-out digits better than a VAE",
                   (Check("recon_short_run", "<", "recon_vae"),), paper="short-run better than VAE (paper)",
                   source="seed 002, short-run inference (arXiv 1912.01909)"),
    ),
    headlines=(
        Headline("fa_s_tuned_over_true", "factor analysis: tuned s (gradient) / argmin of the true KL", "1"),
        Headline("fa_kl_estimate_minus_closed", "factor analysis: KL estimate - closed form at the tuned s", "0"),
        Headline("toy_energy_distance", "toy: energy distance short-run (tuned s) vs NUTS", "0 if exact"),
        Headline("nuts_r_hat_max", "toy: NUTS largest R-hat (arviz)", "< 1.01"),
        Headline("digits_s_tuned", "digits: KL-tuned s at the end of learning", "0.05 (authors' fixed s)"),
        Headline("digits_s_best_reconstruction", "digits: s with the lowest held-out reconstruction error",
                 "0.4 (REFERENCE.md test)"),
        Headline("recon_short_run", "digits: held-out MSE per pixel, short-run model at tuned s", "0.025-0.074"),
        Headline("recon_abp", "digits: held-out MSE per pixel, ABP model at tuned s", "—"),
        Headline("recon_vae", "digits: held-out MSE per pixel, VAE (encoder mean)", "> short-run (paper)"),
        Headline("fd_short_run", "digits: pixel-space FD of samples, short-run model", "—"),
        Headline("fd_vae", "digits: pixel-space FD of samples, VAE", "> short-run (paper)"),
    ),
    figures=(
        KeyFigure("fa_kl_curve", "factor analysis: KL(q_s || p(z|x)) closed form vs estimate; deterministic "
                  "float64 computations with seeded draws", rtol=1e-6, atol=1e-8),
        KeyFigure("toy_posterior", "toy: moments of NUTS and short-run samples (seeded jax and torch; "
                  "moments are stable to a few 1e-3)", rtol=0.05, atol=0.02),
        KeyFigure("reconstruction_vs_s", "digits: held-out MSE against s for trained models (CPU training "
                  "is reproducible but float sums may differ by thread count; 10%)", rtol=0.1, atol=0.005),
        KeyFigure("method_comparison", "digits: reconstruction, inpainting, pixel FD per method (trained "
                  "models; 15%)", rtol=0.15, atol=0.01),
        KeyFigure("s_over_training", "digits: KL-tuned s at each tuning, per seed (trained models; 15%)",
                  rtol=0.15, atol=0.02),
        KeyFigure("layers", "layered model: pixel standard deviation induced by each latent layer (20%)",
                  rtol=0.2, atol=0.01),
    ),
)
