from latentebm.catalogue import Claim, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

PAPER = "seed 002 (Nijkamp, Hill, Han, Zhu, Wu, On the anatomy of MCMC-based ML learning of EBMs, arXiv 1903.12370)"
TOYS = PAPER + ", section 4 and figure 1 (toys)"
DIAGNOSTICS = PAPER + ", section 3 (d_t, r_t) and appendix (oscillation)"
IMAGES = PAPER + ", section 5 (oversaturated long-run samples)"

SPEC = NotebookSpec(
    name="10_short_run_mcmc",
    dtype="float32",
    threads=1,  # the runs train in one-thread workers; this process too, so that workers=1 trains the same models
    thumbnail="toy_densities",
    title="Short-run MCMC and maximum-likelihood EBMs: convergent against non-convergent learning",
    derives="seed 002, the anatomy of MCMC-based ML learning (Nijkamp et al.): the ML gradient with short-run "
    "negatives, convergent against non-convergent learning on 2-D toys with exactly normalised densities, the "
    "diagnostics d_t and r_t and their oscillation, and oversaturated long-run samples of an image EBM.",
    knobs=(
        Knob("n_seeds", 3, 5, "training seeds of every run (per toy; and of the image model)", minimum=2),
        Knob("rings", 2, 4, "rings of the concentric-rings toy (the authors: 4)", minimum=1),
        Knob("convergent_iterations", 1000, 200000, "updates of the convergent toy run (the authors: 200k)",
             minimum=10),
        Knob("nonconvergent_iterations", 1000, 100000, "updates of the non-convergent toy run (the authors: 100k)",
             minimum=10),
        Knob("toy_langevin_steps", 50, 0, "Langevin steps per update of both toy runs (0: the authors' 500 and "
             "100)", minimum=0),
        Knob("image_iterations", 600, 100000, "updates of the image run", minimum=10),
        Knob("image_langevin_steps", 25, 150, "Langevin steps per update of the image run", minimum=1),
        Knob("eval_samples", 500, 2000, "samples (and long-run chains) per member for every MMD and FD", minimum=50),
        Knob("long_steps", 1500, 100000, "steps of every long-run chain (the authors: 100k)", minimum=100,
             multiple_of=100),
        Knob("grid_cells", 150, 300, "grid cells per axis for the exact normalisation", minimum=20),
        Knob("mmd_bandwidth", 0.2, 0.2, "Gaussian-kernel bandwidth of the MMD (the toys' sd is 0.15)", kind=float,
             minimum=1e-6),
        Knob("max_lag", 10, 15, "largest lag of the autocorrelation of d_t", minimum=1),
        Knob("classifier_steps", 300, 2000, "training steps of the feature classifier behind the FD", minimum=1),
        Knob("convergent_images", False, True, "also train the authors' convergent image recipe (persistent bank, "
             "L = 500: too costly for ci)", kind=bool),
        Knob("workers", 2, 1, "CPU worker processes that train the runs side by side (on cuda: one after another)",
             minimum=1),
    ),
    claims=(
        Claim("short_run_as_good", "the non-convergent model's short-run samples are about as good as the "
              "convergent model's", "MMD^2(non-convergent short-run, data) <= 2 x max(MMD^2(convergent short-run, "
              "data), floor), the floor being the MMD^2 between two data samples of the same size; per toy and seed",
              "as good (figure 1)", source=TOYS),
        Claim("density_far_worse", "the non-convergent model's density is far from the data's",
              "grid KL(data || p_theta) of the non-convergent model above 10 x the convergent model's; per toy and "
              "seed", "far worse (figure 1)", source=TOYS),
        Claim("nonconvergent_long_run_drifts", "the non-convergent model's long-run chains drift away from the data",
              "MMD^2(long-run from data, data) above 2 x max(MMD^2(its short-run, data), floor)",
              "differ greatly", source=TOYS),
        Claim("convergent_long_run_stays", "the convergent model's long-run samples stay as good as its short-run "
              "ones", "MMD^2(long-run from data, data) at most 2 x max(MMD^2(its short-run, data), floor)",
              "realistic long-run samples", source=TOYS),
        Claim("d_around_zero", "d_t oscillates around 0 in every stable run",
              "|mean d_t| over the second half of training below 3 standard errors (widened for its lag-1 "
              "autocorrelation): no steady offset; both runs, per toy and seed", "around 0", source=DIAGNOSTICS),
        Claim("r_settles", "r_t settles", "mean r_t over the last 10% of updates within 15% of its mean over "
              "updates 50-60%; both runs, per toy and seed", "settles", source=DIAGNOSTICS),
        Claim("sgd_weak_oscillation", "SGD (the convergent run; at 10x the authors' rate in ci): weak "
              "oscillation, no autocorrelation in d_t",
              "|lag-1 autocorrelation of d_t| over the second half below 0.1; per toy and seed",
              "no autocorrelation", source=DIAGNOSTICS),
        Claim("adam_strong_oscillation", "Adam (the non-convergent run): strong oscillation, a negative short-lag "
              "autocorrelation of d_t", "lag-1 autocorrelation of d_t over the second half below 0 and below the "
              "SGD run's; per toy and seed", "negative", source=DIAGNOSTICS),
        Claim("short_run_digits", "noise-initialised short-run synthesis produces digits",
              "FD (classifier features) of short-run samples below the FD of samples from a Gaussian "
              "fitted to the data; per seed", "realistic short-run samples", source=IMAGES),
        Claim("oversaturation", "long-run chains of the non-convergent model oversaturate: the energy falls below "
              "the data's while the FD rises", "after the long run from data: mean U below the data's and FD above "
              "2 x the short-run samples' FD; per seed", "oversaturated (figures)", source=IMAGES),
        Claim("convergent_long_run_digits", "the convergent image model's long-run samples stay realistic",
              "FD after the long run from data at most 2 x its short-run samples' FD; per seed",
              "realistic long-run samples (MNIST)", source=IMAGES, profile="full"),
    ),
    headlines=(
        Headline("kl_convergent_gmm", "grid KL(data || p_theta), convergent, 8 Gaussians, median", "small"),
        Headline("kl_nonconvergent_gmm", "grid KL(data || p_theta), non-convergent, 8 Gaussians, median", "far worse"),
        Headline("kl_convergent_rings", "grid KL(data || p_theta), convergent, rings, median", "small"),
        Headline("kl_nonconvergent_rings", "grid KL(data || p_theta), non-convergent, rings, median", "far worse"),
        *(Headline(f"mmd_{kind}_{outcome}_{toy}", f"MMD^2 {kind}-run{' (from data)' if kind == 'long' else ''} to "
                   f"data, {outcome}, {'8 Gaussians' if toy == 'gmm' else 'rings'}, median", "—")
          for toy in ("gmm", "rings") for outcome in ("convergent", "nonconvergent") for kind in ("short", "long")),
        Headline("mmd_short_convergent", "MMD^2 short-run to data, convergent, median over toys and seeds", "—"),
        Headline("mmd_short_nonconvergent", "MMD^2 short-run to data, non-convergent, median", "as good"),
        Headline("mmd_long_convergent", "MMD^2 long-run (from data) to data, convergent, median", "as good"),
        Headline("mmd_long_nonconvergent", "MMD^2 long-run (from data) to data, non-convergent, median", "far worse"),
        Headline("mmd_long_noise_nonconvergent", "MMD^2 long-run (from noise) to data, non-convergent, median", "—"),
        Headline("mmd_long_mala_convergent", "MMD^2 long-run MALA (from data) to data, convergent, median", "—"),
        Headline("mmd_exact_convergent", "MMD^2 of exact draws of the grid-normalised p_theta, convergent, median",
                 "—"),
        Headline("mmd_exact_nonconvergent", "MMD^2 of exact draws of p_theta, non-convergent, median", "—"),
        Headline("mala_acceptance_nonconvergent", "MALA acceptance at the training step, non-convergent, median",
                 "—"),
        Headline("mmd_floor", "MMD^2 between two data samples of the same size, median", "—"),
        Headline("d_mean_over_sd_convergent", "mean d_t / sd d_t over the second half, convergent, median", "≈ 0"),
        Headline("d_mean_over_sd_nonconvergent", "mean d_t / sd d_t, non-convergent, median", "≈ 0"),
        Headline("d_mean_over_se_convergent", "mean d_t / its standard error, convergent, median", "within ±3"),
        Headline("d_mean_over_se_nonconvergent", "mean d_t / its standard error, non-convergent, median",
                 "within ±3"),
        Headline("inner_ring_share_convergent", "share of the convergent model's mass on the inner ring (grid), "
                 "median", "1/rings"),
        Headline("lag1_convergent", "lag-1 autocorrelation of d_t, convergent (SGD), median", "≈ 0"),
        Headline("lag1_nonconvergent", "lag-1 autocorrelation of d_t, non-convergent (Adam), median", "< 0"),
        Headline("r_final_convergent", "r_t (drift per step) at the end, convergent, median", "settles"),
        Headline("r_final_nonconvergent", "r_t at the end, non-convergent, median", "settles"),
        Headline("fd_short_run", "FD (classifier features) of short-run digits, median over seeds", "—"),
        Headline("fd_gaussian", "FD of samples of a Gaussian fitted to the digits", "—"),
        Headline("fd_long_run", "FD after the long run from data, median", "rises"),
        Headline("u_long_minus_data", "mean U(long-run) - mean U(data), median", "< 0"),
        Headline("saturated_share", "share of long-run pixels at |x| >= 1, median", "oversaturated"),
    ),
    figures=(
        # 1,000 float32 updates: deterministic on one machine kind with one thread; on another CPU the training's
        # round-off may move them beyond these tolerances (README, "the round-off rule")
        KeyFigure("toy_densities", "learned densities (exactly normalised) beside short-run and long-run samples, "
                  "seed 0, both toys and both runs", rtol=1e-2, atol=1e-2),
        KeyFigure("diagnostics", "d_t, r_t and the autocorrelation of d_t for both runs", rtol=1e-2, atol=1e-2),
        KeyFigure("digits", "short-run digits, the long run from data, its energy and FD", rtol=1e-2, atol=1e-2),
    ),
)
