from latentebm.catalogue import Check, Claim, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

PAPER = "seed 003 (Bachman & Precup, Training deep generative models: variations on a theme)"
IWAE = "Burda, Grosse & Salakhutdinov, Importance weighted autoencoders, ICLR 2016, table 1 (REFERENCE.md)"

SPEC = NotebookSpec(
    name="17_joint_kl",
    dtype="float64",  # the enumerations and the PPCA bound; the VAE/IWAE recipes train in float32
    threads=1,  # the VAE/IWAE runs train in one-thread workers; this process too, so workers=1 trains the same
    thumbnail="iw_bound",
    title="Every model as a KL between two joints: VAE, DAE, contrastive divergence and the importance-weighted bound",
    derives="seed 003 (Bachman & Precup): the chain rule of KL between inference and generation joints and the "
    "bound it gives; the VAE, the denoising auto-encoder and contrastive divergence as instances, checked by "
    "enumeration; the importance-weighted bound against probabilistic PCA's closed-form evidence, and the seed's "
    "printed version of it, which is not a bound; VAE against IWAE on binarised digits beside Burda et al.'s table.",
    knobs=(
        Knob("n_seeds", 3, 5, "training seeds of every VAE/IWAE run", minimum=2),
        Knob("iw_steps", 2000, 300000, "training steps of every VAE/IWAE run", minimum=10),
        Knob("eval_k", 1000, 5000, "draws of the IW estimate of the test log-likelihood (Burda et al.: 5000)",
             minimum=1),
        Knob("ppca_latents", 10, 10, "factors of the probabilistic PCA of the digits", minimum=1, maximum=63),
        Knob("ppca_examples", 100, 297, "held-out digits the IW bound is averaged over", minimum=2, maximum=297),
        Knob("ppca_replicates", 20, 100, "independent sets of 1,000 draws per digit", minimum=2),
        Knob("q_mean_scale", 0.9, 0.9, "the proposal's mean over the posterior's", kind=float, minimum=0.0),
        Knob("q_widening", 2.0, 2.0, "the proposal's standard deviations over the posterior's", kind=float,
             minimum=1.0),
        Knob("max_gibbs_steps", 5, 10, "largest k of the contrastive-divergence paths", minimum=1),
        Knob("workers", 2, 1, "CPU worker processes that train the runs side by side", minimum=1),
    ),
    comparisons=(
        Comparison("chain_rule", "KL(q(x, tau) || p(x, tau)) = KL(q(x) || p(x)) + E_q(x) KL(q(tau|x) || p(tau|x)), "
                   "and the bound's slack is the expected conditional KL",
                   (Check("chain_rule_gap", "<", 1e-12), Check("bound_slack", ">", 0.0)), paper="exact",
                   source=PAPER + ", 'Using KL(q||p) to bound'"),
        Comparison("vae_joint", "the VAE's joint KL is -H(D) - E_D ELBO(x)",
                   (Check("vae_elbo_gap", "<", 1e-12),), paper="exact",
                   source=PAPER + ", 'VAEs and deep non-eq thermodynamics'"),
        Comparison("dae_decoder", "with the aggregated prior, the DAE's joint KL is E_q(z) KL(q(x|z) || p(x|z)) and "
                   "its decoder gradient is the reconstruction error's",
                   (Check("dae_kl_gap", "<", 1e-12), Check("dae_decoder_grad_gap", "<", 1e-10)), paper="exact",
                   source=PAPER + ", 'Denoising autoencoders'"),
        Comparison("dae_encoder", "for a learned encoder the reconstruction gradient is not the KL gradient: they "
                   "differ by the gradient of H_q(X|Z) (the seed's 'just by minimising reconstruction error' holds "
                   "for the decoder only)",
                   (Check("dae_encoder_entropy_gap", "<", 1e-10), Check("dae_encoder_grad_difference", ">", 1e-3)),
                   paper="not stated (derived here)", source=PAPER + ", 'Denoising autoencoders'"),
        Comparison("cd_telescoping", "the log ratio of the forward and reverse Gibbs paths telescopes to "
                   "log D(x_0) - log pi(z_k) + A(z_k) - A(x_0); with the RBM's own prior the path KL is "
                   "KL(D || p_RBM) for every k",
                   (Check("cd_telescoping_gap", "<", 1e-12), Check("cd_enumeration_gap", "<", 1e-12),
                    Check("cd_stationary_gap", "<", 1e-12), Check("cd_convolved_violations", "≈", 0.0),
                    Check("cd_convolved_decay", "<", 1.0)),
                   paper="Z_{z_k} - Z_{x_0}", source=PAPER + ", 'Contrastive divergence for RBMs'"),
        Comparison("cd_seed_prior", "with the seed's prior (the forward chain's marginal of z_k) the path KL lies "
                   "below KL(D || p_RBM): it bounds the KL to the reverse chain's x_0-marginal, not the RBM's",
                   (Check("cd_convolved_distance_first", "<", 0.0),), paper="not stated (derived here)",
                   source=PAPER + ", 'Contrastive divergence for RBMs'"),
        Comparison("iw_bound", "L_k increases with k and never exceeds log p(x); L_1's gap is KL(q || p(z|x)); the "
                   "gap falls like 1/k", (Check("iw_min_increment", ">", 0.0), Check("iw_max_excess", "<", 0.0),
                                         Check("iw_gap_k1_error_in_se", "<", 3.0),
                                         Check("iw_gap_slope", "≈", -1.0, tol=0.25)),
                   shows=("iw_gap_k1", "iw_gap_k1_closed_form", "iw_k_gap_kmax", "iw_leading_term"),
                   paper="L_k <= L_{k+1} <= log p(x)", source=PAPER + ", 'Importance-weighted autoencoders'; " + IWAE),
        Comparison("seed_bound_not_a_bound", "the bound as printed in the seed (no 1/k) exceeds log p(x)",
                   (Check("seed_overshoot_kmax", ">", 0.0),), shows=("seed_first_k_over",),
                   paper="printed as a bound", source=PAPER + ", 'Importance-weighted autoencoders', eq. 1-2"),
        Comparison("resampled_proposal", "resampling k draws of q by their weights gives a proposal closer to "
                   "p(z|x) than q: its variance falls to the posterior's as k grows",
                   (Check("sir_variance_ratio_kmax", "≈", 1.0, tol=0.15), Check("sir_ratio_max_increase", "<", 0.0)),
                   paper="q_p^k -> p(z|x)", source=PAPER + ", 'Importance-weighted autoencoders'",
                   shows=("sir_variance_ratio_k1",)),
        Comparison("rws_iwae_weights", "the IWAE's generator gradient is the reweighted wake-sleep gradient with the "
                   "normalised weights held fixed", (Check("rws_gradient_gap", "<", 1e-10),), paper="exact",
                   source=PAPER + ", 'Importance-weighted autoencoders'"),
        Comparison("iwae_table", "IWAE at k = 50 reaches a lower test NLL than the VAE at k = 50",
                   direction=(Check("nll_iwae_50", "<", "nll_vae_50"),), paper="84.78 against 86.35 (MNIST)",
                   differs="8x8 digits, 20 latents, one hidden layer of 100, 2,000 steps; the paper: MNIST, 50 "
                   "latents, two layers of 200, 3,280 passes", source=IWAE, shows=("nll_vae_1", "nll_iwae_5")),
    ),
    claims=(
        Claim("iwae_beats_vae", "the IWAE at k = 50 has a lower test NLL than the VAE at k = 50",
              "NLL(IWAE, 50) < NLL(VAE, 50), test NLL by L_k at k = eval_k; per seed", "84.78 < 86.35", source=IWAE),
        Claim("iwae_improves_with_k", "the IWAE's test NLL falls as k grows",
              "NLL(IWAE, 50) < NLL(IWAE, 5) < NLL(VAE = IWAE, 1); per seed", "86.76 > 85.54 > 84.78", source=IWAE),
        Claim("vae_gains_little", "the VAE gains little from more draws",
              "NLL(VAE, 1) - NLL(VAE, 50) at most half of NLL(VAE, 1) - NLL(IWAE, 50); per seed",
              "0.41 against 1.98 nats", source=IWAE),
        Claim("iwae_more_active_units", "the IWAE uses more latent dimensions than the VAE",
              "active units (Cov_x E_q[z_u|x] > 1e-2) of the IWAE at k = 50 > the VAE's at k = 50 (of 20 in ci: "
              "a tie at the ceiling fails); per seed",
              "more active units", source=IWAE),
    ),
    headlines=(
        Headline("chain_rule_gap", "|KL(joint) - KL(marginal) - E KL(conditional)| (enumeration)", "0"),
        Headline("vae_elbo_gap", "|VAE joint KL - (-H(D) - E ELBO)|", "0"),
        Headline("dae_decoder_grad_gap", "DAE: relative gap, decoder gradient of KL against reconstruction's", "0"),
        Headline("dae_encoder_grad_difference", "DAE: relative gap, encoder gradient of KL against reconstruction's",
                 "0 (the seed); grad H_q(X|Z) (here)"),
        Headline("cd_telescoping_gap", "max |log q/p factor by factor - telescoped| over sampled Gibbs paths", "0"),
        Headline("cd_stationary_gap", "max over k |path KL - KL(D || p_RBM)| with the RBM's prior", "0"),
        Headline("iw_gap_k1", "log p(x) - L_1 (the ELBO's gap), PPCA of digits", "KL(q || p(z|x))"),
        Headline("iw_gap_k1_closed_form", "KL(q || p(z|x)) in closed form, mean over the digits", "—"),
        Headline("iw_gap_kmax", "log p(x) - L_1000", "-> 0"),
        Headline("iw_gap_slope", "slope of log(log p - L_k) against log k, k >= 100", "-1"),
        Headline("iw_k_gap_kmax", "k (log p - L_k) at k = 1000", "rho / 2 as k -> inf"),
        Headline("iw_leading_term", "rho / 2, the relative variance of the weights over 2 (closed form)", "—"),
        Headline("seed_overshoot_kmax", "the seed's version minus log p(x) at k = 1000", "> 0: not a bound"),
        Headline("seed_first_k_over", "smallest k at which the seed's version exceeds log p(x)", "—"),
        Headline("sir_variance_ratio_k1", "variance of a resampled draw over the posterior's, k = 1 (q itself)",
                 "q_widening^2"),
        Headline("sir_variance_ratio_kmax", "the same at k = 1000", "-> 1"),
        Headline("rws_gradient_gap", "relative gap, IWAE generator gradient against RWS's with fixed weights", "0"),
        Headline("nll_vae_1", "test NLL, VAE k = 1 (nats, digits 8x8), mean over seeds", "86.76 (MNIST)"),
        Headline("nll_vae_5", "test NLL, VAE k = 5", "86.47 (MNIST)"),
        Headline("nll_vae_50", "test NLL, VAE k = 50", "86.35 (MNIST)"),
        Headline("nll_iwae_5", "test NLL, IWAE k = 5", "85.54 (MNIST)"),
        Headline("nll_iwae_50", "test NLL, IWAE k = 50", "84.78 (MNIST)"),
        Headline("nll_vae_analytic_kl_1", "test NLL, VAE k = 1 with the KL in closed form (the usual estimator)",
                 "—"),
        Headline("vae_gain", "NLL gain of the VAE from k = 1 to 50", "0.41 (MNIST)"),
        Headline("iwae_gain", "NLL gain of the IWAE from k = 1 to 50", "1.98 (MNIST)"),
        Headline("units_vae_50", "active units of 20, VAE k = 50", "—"),
        Headline("units_iwae_50", "active units of 20, IWAE k = 50", "more than the VAE's"),
        Headline("neg_elbo_vae_50", "test -ELBO (k = 1), VAE k = 50", "—"),
        Headline("neg_elbo_iwae_50", "test -ELBO (k = 1), IWAE k = 50", "—"),
    ),
    figures=(
        KeyFigure("chain_rule", "the chain rule's terms as q(tau|x) moves to the posterior (enumeration)",
                  rtol=1e-9, atol=1e-12),
        # Monte Carlo with fixed streams; float64 sums in another order on another BLAS move the last digits only
        KeyFigure("iw_bound", "log p(x) - L_k against k on PPCA of digits, and the seed's version against log k",
                  rtol=1e-6, atol=1e-9),
        # 2,000 float32 steps: deterministic on one machine kind with one thread (README, "the round-off rule")
        KeyFigure("iwae_table", "test NLL and active units of the VAE and IWAE against k, beside the paper's table",
                  rtol=1e-2, atol=1e-2),
    ),
    roundoff={"chain_rule_gap": 1e-12, "vae_elbo_gap": 1e-12,
              "dae_kl_gap": 1e-12, "dae_entropy_gap": 1e-12, "dae_decoder_grad_gap": 1e-10,
              "dae_encoder_entropy_gap": 1e-10, "cd_telescoping_gap": 1e-12, "cd_enumeration_gap": 1e-12,
              "cd_stationary_gap": 1e-12, "rws_gradient_gap": 1e-10},
)
