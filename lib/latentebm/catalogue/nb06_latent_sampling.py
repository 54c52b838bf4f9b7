from latentebm.catalogue import Check, Claim, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

TABLE = "seed 001, slide 'Experiments'; REFERENCE.md, the relative-FID table"

SPEC = NotebookSpec(
    name="06_latent_sampling",
    dtype="float64",  # the toy posterior checks; the image part passes float32 explicitly
    threads=1,  # batches of 2-D chains and small MLPs: a second thread only contends on a shared CPU (5x slower)
    thumbnail="relative_fd_seeds",
    title="Sampling a GEBM in latent space: ULA, MALA, HMC and kinetic Langevin, checked against NUTS",
    derives="seed 001 (Arbel, Zhou, Gretton), 'Sampling from the model' and its experiments: the posterior latent "
    "distribution nu(z) ∝ eta(z) exp(-beta E(B(z))), Langevin-type samplers for it (ULA, MALA, HMC, kinetic "
    "Langevin), sampling at modes (low temperature), moving between modes (low friction), and the relative-FID "
    "table (IMH, DOT, latent Langevin).",
    knobs=(
        # toy GEBM with a 2-D latent: stationary laws against the grid posterior and NUTS
        Knob("toy_chains", 4000, 20000, "independent chains (from eta) whose final states are compared with the "
             "grid posterior", minimum=100),
        Knob("toy_steps", 300, 2000, "steps of each chain before its final state is taken", minimum=10),
        Knob("step_sizes", [0.025, 0.05, 0.1, 0.2, 0.4], [0.0125, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8],
             "step sizes h of the sweep (ULA, MALA, KLA step; HMC leapfrog step)", kind=list, minimum=1e-6),
        Knob("hmc_leapfrog", 5, 10, "leapfrog steps L per HMC step", minimum=1),
        Knob("kla_friction", 1.0, 1.0, "friction gamma of the kinetic sampler in the correctness checks",
             kind=float, minimum=0.0),
        Knob("tv_repeats", 20, 100, "repetitions of exact draws for the Monte-Carlo floor of the distance",
             minimum=2),
        Knob("nuts_chains", 4, 8, "NUTS chains (numpyro, vectorised)", minimum=2),
        Knob("nuts_warmup", 500, 2000, "NUTS warm-up iterations (step size and mass adaptation)", minimum=10),
        Knob("nuts_samples", 1000, 5000, "NUTS draws per chain", minimum=10),
        Knob("ess_chains", 8, 32, "chains for the ESS / R-hat / rank-plot diagnostics", minimum=2),
        Knob("ess_steps", 1000, 10000, "steps per chain for the diagnostics", minimum=50),
        Knob("ess_step_size", 0.2, 0.2, "step size of every sampler in the ESS comparison", kind=float,
             minimum=1e-6),
        # temperature and friction
        Knob("betas", [1.0, 10.0, 100.0], [1.0, 3.0, 10.0, 30.0, 100.0, 300.0], "inverse temperatures beta",
             kind=list, minimum=0.0),
        Knob("temperature_chains", 2000, 10000, "chains per temperature", minimum=10),
        Knob("temperature_steps", 300, 2000, "MALA steps per temperature (step 0.2 / beta)", minimum=10),
        Knob("frictions", [0.05, 0.2, 1.0, 5.0, 20.0], [0.01, 0.05, 0.2, 1.0, 5.0, 20.0, 100.0],
             "frictions gamma of the kinetic sampler for the mode-switching count", kind=list, minimum=0.0),
        Knob("switch_beta", 10.0, 10.0, "inverse temperature of the mode-switching experiment", kind=float,
             minimum=0.0),
        Knob("switch_chains", 500, 2000, "kinetic chains per friction", minimum=2),
        Knob("switch_steps", 1000, 5000, "kinetic steps per chain", minimum=10),
        Knob("switch_step_size", 0.05, 0.05, "kinetic step size h (the time simulated is steps x h)", kind=float,
             minimum=1e-6),
        # the MNIST GEBM of notebook 05 (its recipe per profile: latentebm.experiments.gebm_images)
        Knob("n_train_seeds", 5, 3, "image models of notebook 05 (training seeds 0, 1, ...) the paper's table is "
             "repeated on", minimum=1),
        Knob("workers", 2, 2, "CPU worker processes that train missing models side by side", minimum=1),
        Knob("image_chains", 500, 10000, "latent chains (= samples scored by the Fréchet distance)", minimum=50),
        Knob("image_steps", 300, 1000, "sampler steps on the image GEBM", minimum=1),
        Knob("image_beta", 100.0, 100.0, "inverse temperature on the image GEBM (the paper samples at 100)",
             kind=float, minimum=0.0),
        Knob("image_step_sizes", [1e-4, 1e-4, 3e-3, 3e-3], [1e-4, 1e-4, 3e-3, 3e-3],
             "initial step of ULA, MALA, HMC (leapfrog step) and KLA on the image GEBM", kind=list, minimum=0.0),
        Knob("other_image_betas", [1.0, 10.0], [1.0, 10.0], "further inverse temperatures for the KLA (decay) "
             "sample quality", kind=list, minimum=0.0),
        Knob("image_friction", 1.0, 1.0, "friction of the kinetic sampler on the image GEBM", kind=float,
             minimum=0.0),
        Knob("decay_factor", 0.1, 0.1, "step-size decay factor (the paper: 10x)", kind=float, minimum=1e-6,
             maximum=1.0),
        Knob("decay_every", 100, 200, "steps between step-size cuts (the paper: 200)", minimum=1),
        Knob("eval_every", 25, 50, "steps between Fréchet-distance evaluations", minimum=1),
        Knob("imh_steps", 100, 1000, "independent Metropolis-Hastings proposals per chain", minimum=1),
        Knob("dot_steps", 20, 50, "Adam steps of discriminator optimal transport", minimum=1),
        Knob("dot_lr", 0.01, 0.01, "Adam learning rate of discriminator optimal transport", kind=float,
             minimum=0.0),
    ),
    comparisons=(
        Comparison("exact_samplers", "MALA and HMC are exact at any step (TV at the Monte-Carlo floor, within 1.5x), "
                   "ULA is biased (above twice the floor at the largest step)",
                   (Check("tv_mala_largest_step", "<", "tv_floor", factor=1.5),
                    Check("tv_hmc_largest_step", "<", "tv_floor", factor=1.5),
                    Check("tv_ula_largest_step", ">", "tv_floor", factor=2.0)),
                   paper="MALA, HMC exact; ULA bias grows with h", source="seed 001, slide 'Sampling from the model'"),
        Comparison("nuts_agreement", "(ours) every sampler at the smallest step agrees with NUTS: its TV to NUTS "
                   "within the two-sample floor + 3 sd (exact draws of the same sizes against each other)",
                   (Check("tv_nuts_vs_samplers_max", "<", "tv_two_sample_bound"),),
                   paper="— (our check of the samplers)", source="seed 001, slide 'Sampling from the model'"),
        Comparison("laplace_spread", "at large beta the posterior concentrates like its Laplace approximation",
                   (Check("spread_ratio_largest_beta", "≈", 1.0, tol=0.1),), paper="-> 1",
                   source="seed 001, slide 'Sampling at modes: results'"),
        Comparison("friction", "kinetic Langevin with less friction moves between modes more often",
                   (Check("switches_lowest_friction", ">", "switches_highest_friction"),), paper="more switches",
                   source="seed 001, slide 'Examples: moving between modes'"),
    ),
    headlines=(
        Headline("tv_floor", "histogram TV of exact draws from the grid posterior (Monte-Carlo floor)", "—"),
        Headline("tv_ula_largest_step", "TV(ULA final states, grid) at the largest step", "grows with h"),
        Headline("tv_mala_largest_step", "TV(MALA final states, grid) at the largest step", "= floor (exact)"),
        Headline("tv_hmc_largest_step", "TV(HMC final states, grid) at the largest step", "= floor (exact)"),
        Headline("tv_nuts_vs_samplers_max", "largest TV(sampler at the smallest step, NUTS)", "≈ two-sample floor"),
        Headline("tv_two_sample_bound", "two-sample floor + 3 sd: TV between exact draws of the same sizes", "—"),
        Headline("ess_per_grad_ula", "bulk ESS per gradient evaluation, ULA", "—"),
        Headline("ess_per_grad_mala", "bulk ESS per gradient evaluation, MALA", "—"),
        Headline("ess_per_grad_hmc", "bulk ESS per gradient evaluation, HMC", "—"),
        Headline("ess_per_grad_kla", "bulk ESS per gradient evaluation, KLA", "—"),
        Headline("spread_ratio_largest_beta", "beta E|B(z) - c|^2 / (2 s^2) at the largest beta", "-> 1"),
        Headline("switches_lowest_friction", "mode switches per chain, lowest friction", "more (paper)"),
        Headline("switches_highest_friction", "mode switches per chain, highest friction", "fewer"),
        Headline("relative_fd_langevin", "FD(latent KLA, step decay) / FD(base alone), %, mean over training seeds",
                 "CIFAR-10: 73.06"),
        Headline("relative_fd_langevin_sd", "its standard deviation over training seeds", "—"),
        Headline("relative_fd_dot", "FD(DOT samples) / FD(base alone), %, mean over training seeds",
                 "CIFAR-10: 82.27"),
        Headline("relative_fd_imh", "FD(IMH samples) / FD(base alone), %, mean over training seeds",
                 "CIFAR-10: 95.13"),
        Headline("relative_fd_stopped", "FD(latent KLA, constant step, stopped on validation) / FD(base alone), %, "
                 "mean over training seeds", "— (ours)"),
    ),
    claims=(
        Claim("langevin_better_than_base", "latent Langevin samples are better than the base's",
              "relative FD of KLA with the decaying step below 90% (two independent batches of 500 prior draws give "
              "FD ratios of standard deviation about 7%, notebook 05)",
              "73.06%", source=TABLE),
        Claim("langevin_better_than_baselines", "latent Langevin beats both baselines, IMH and DOT",
              "relative FD of KLA (decay) below both IMH's and DOT's", "73.06 < 82.27, 95.13", source=TABLE),
        Claim("dot_better_than_imh", "DOT beats IMH", "relative FD of DOT below IMH's", "82.27 < 95.13",
              source=TABLE),
        Claim("tempered_model_better_than_base", "the tempered model nu_beta (beta 100) is better than its base",
              "relative FD of IMH, which samples nu_beta exactly, below 90%", "95.13%",
              source=TABLE),
        Claim("stopped_better_than_base", "(ours) a constant-step KLA stopped on validation beats the base",
              "its relative FD at the step of lowest validation FD below 90%", "—",
              source="ours: not a claim of the paper (early stopping, notebook 05)"),
    ),
    figures=(
        KeyFigure("toy_posterior", "the toy GEBM's latent posterior on the grid (deterministic, float64)",
                  rtol=1e-7, atol=1e-10),
        KeyFigure("bias_vs_step", "TV of each sampler's final states to the grid posterior against the step; "
                  "seeded Monte Carlo, so the tolerance is a fraction of the floor's spread", rtol=0.0, atol=0.02),
        KeyFigure("ess_rank", "ESS per gradient (arviz) and rank histograms; ESS estimates move by tens of % "
                  "with the chains, so only an order-of-magnitude change fails", rtol=0.5, atol=1e-4),
        KeyFigure("temperature", "spread around the modes against beta (seeded Monte Carlo)", rtol=0.1, atol=0.01),
        KeyFigure("mode_switches", "mode switches per chain against friction (seeded Monte Carlo)", rtol=0.25,
                  atol=0.2),
        KeyFigure("relative_fd", "FD(GEBM samples) / FD(base alone) against sampler steps; depends on notebook 05's "
                  "trained model, so a few points of tolerance", rtol=0.0, atol=0.05),
        KeyFigure("relative_fd_seeds", "the paper's table on every training seed and the constant-step KLA along its "
                  "chain (trained models: a few points of tolerance)", rtol=0.0, atol=0.05),
    ),
)
