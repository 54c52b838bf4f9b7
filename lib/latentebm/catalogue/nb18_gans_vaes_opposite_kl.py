from latentebm.catalogue import Check, Claim, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

PAPER = "seed 004 (Hu, Yang, Salakhutdinov, Xing, On unifying deep generative models, ICLR 2018)"
LEMMA1 = PAPER + ", Lemma 1 (eq. 4)"
LEMMA2 = PAPER + ", Lemma 2 (eq. 6) and 'Missing mode issue' / 'Covering mode issue'"
IWGAN = PAPER + ", 'Technique Transfer': IWGAN (eq. 7)"
AAVAE = PAPER + ", 'Technique Transfer': AAVAE"

SPEC = NotebookSpec(
    name="18_gans_vaes_opposite_kl",
    dtype="float64",  # the quadrature of Lemma 1 and of the KL fits; the networks train in float32
    threads=1,  # the runs train in one-thread workers; this process too, so that workers=1 trains the same models
    thumbnail="lemma1",
    # exact up to round-off (Lemma 1) or the L-BFGS tolerance (the fits): shown only as the bound they meet
    roundoff={"lemma1_rel_error": 1e-8, "lemma1_sweep_max_rel_error": 1e-8, "forward_mean_error": 1e-6,
              "forward_sd_error": 1e-6, "reverse_max_other_mass": 1e-3},
    title="GANs and VAEs as opposite KLs: Lemma 1 by quadrature, mode covering against mode seeking, IWGAN and "
    "AAVAE",
    derives="seed 004 (Hu, Yang, Salakhutdinov, Xing): the GAN generator's gradient as that of KL(p_theta(x|y) || "
    "q^r(x|y)) - JSD for any discriminator (Lemma 1, exact on the line, with a control), the VAE as the KL in "
    "the other direction (Lemma 2), mode covering against mode seeking (exact 1-D fits, and a GAN and a VAE on "
    "a 2-D mixture), and the two transfers: the importance-weighted GAN and the adversary-activated VAE.",
    knobs=(
        Knob("n_seeds", 3, 3, "training seeds of every trained model", minimum=2),
        Knob("grid_points", 6001, 20001, "points of the quadrature grid on the line", minimum=101),
        Knob("grid_half_width", 16.0, 20.0, "half-width of the quadrature grid", kind=float, minimum=6.0),
        Knob("control_shift", 0.5, 0.5, "the control builds q^r with the prior at theta0 + (shift, 0)", kind=float,
             minimum=1e-3),
        Knob("sweep_points", 36, 101, "generator means in the sweep of Lemma 1's two sides", minimum=2),
        Knob("kl_starts", [-5.0, -1.3, 0.4, 2.2, 5.0], [-5.0, -3.0, -1.3, 0.4, 1.0, 2.2, 3.5, 5.0],
             "start means of the Gaussian fits to the bimodal target (start sd 1)", kind=list, element=float),
        Knob("lbfgs_iter", 200, 500, "L-BFGS iterations of each fit", minimum=10),
        Knob("gan_steps", 2000, 20000, "updates of the GAN and the IWGAN on the 2-D mixture", minimum=10),
        Knob("vae_steps", 3000, 20000, "updates of the Gaussian VAE on the 2-D mixture", minimum=10),
        Knob("iw_k", 8, 8, "IWGAN: generated samples per group of normalised weights (divides the batch)",
             minimum=1),
        Knob("eval_samples", 2500, 10000, "samples per 2-D model for modes covered and good share", minimum=100),
        Knob("cover_share", 0.2, 0.2, "a mode is covered when it holds this share of its fair share n / 8 of "
             "the samples (within 3 sd)", kind=float, minimum=0.0, maximum=1.0),
        Knob("digit_steps", 1500, 50000, "updates of every digits run (VAE and AAVAE)", minimum=10),
        Knob("adversary_weight", 1.0, 1.0, "AAVAE: lambda, the weight of the discriminator-weighted ELBO of its "
             "own samples", kind=float, minimum=1e-6),
        Knob("elbo_draws", 10, 100, "latent draws per test image for the test ELBO", minimum=1),
        Knob("workers", 2, 1, "CPU worker processes that train the runs side by side (on cuda: one after another)",
             minimum=1),
    ),
    comparisons=(
        Comparison("lemma1", "the generator's gradient at theta0 equals the gradient of E_p(y) KL(p_theta(x|y) || "
                   "q^r(x|y)) - JSD(p_theta(x|0) || p_theta(x|1)), for a discriminator that is not optimal "
                   "(quadrature on the line, at theta0 and over a sweep of generator means)",
                   (Check("lemma1_rel_error", "<", 1e-8), Check("lemma1_sweep_max_rel_error", "<", 1e-8)),
                   paper="exact, for any discriminator", source=LEMMA1, shows=("discriminator_gap",)),
        Comparison("lemma1_control", "built with the prior at the wrong theta (theta0 + delta), q^r no longer "
                   "gives the generator's gradient", (Check("lemma1_control_rel_error", ">", 1e-2),),
                   paper="fails (the prior must be p_theta0)", source=LEMMA1),
        Comparison("forward_kl_moments", "the Gaussian minimising KL(target || model) matches the target's mean and "
                   "variance, from every start",
                   (Check("forward_mean_error", "<", 1e-6), Check("forward_sd_error", "<", 1e-6)),
                   paper="exact (moment matching)", source=LEMMA2),
        Comparison("kl_directions", "on a bimodal target KL(target || model) covers both modes and puts mass "
                   "between them; KL(model || target) sits on one mode and ignores the other",
                   (Check("forward_between_mass", ">", 0.25), Check("reverse_min_mode_mass", ">", 0.99),
                    Check("reverse_max_other_mass", "<", 1e-3)),
                   paper="covering (VAE) against missing modes (GAN)", source=LEMMA2,
                   shows=("forward_max_mode_mass", "reverse_modes_found")),
        Comparison("iwgan_vs_paper", "IWGAN improves on the GAN", direction=(Check("iwgan_good_share_gain", ">", 0),),
                   paper="inception score MNIST 8.34 -> 8.45, SVHN 5.18 -> 5.34", source=IWGAN,
                   differs="the paper scores MNIST and SVHN images by inception score; ours is the share of good "
                   "samples on a 2-D mixture (median over seeds of IWGAN - GAN)",
                   shows=("iwgan_modes_gain",)),
        Comparison("aavae_vs_paper", "AAVAE raises the test lower bound over the VAE, most with 1% of the data",
                   direction=(Check("aavae_gain_1pct", ">", 0), Check("aavae_gain_10pct", ">", 0),
                              Check("aavae_gain_1pct", ">", "aavae_gain_10pct")),
                   paper="MNIST, 1% of the data: -122.89 -> -122.15", source=AAVAE,
                   differs="the paper's MNIST 28x28 (1% = 600 images) and networks; ours: 14x14 digits of a 5,000 "
                   "image subset (1% = 40 images) in ci",
                   shows=("elbo_vae_1pct", "elbo_aavae_1pct", "elbo_vae_10pct", "elbo_aavae_10pct")),
    ),
    claims=(
        Claim("vae_covers_every_mode", "mode covering: the VAE (KL(data || model)) covers every mode",
              "the Gaussian VAE's samples cover all 8 modes of the 2-D mixture (a mode is covered when it holds "
              "cover_share of its fair share of the samples within 3 sd); per seed", "covering mode issue",
              source=LEMMA2),
        Claim("gan_sharper_than_vae", "mode seeking: the GAN's samples are sharper than the VAE's",
              "share of GAN samples within 3 sd of a mode above the VAE's; per seed (same generator network and "
              "initialisation)", "GANs sharp, VAEs blurry", source=LEMMA2),
        Claim("gan_misses_modes", "the GAN misses modes (the asymmetric KL(p_g || q^r))",
              "the GAN covers fewer than all 8 modes; per seed", "missing mode issue", source=LEMMA2),
        Claim("iwgan_sharper", "IWGAN improves the GAN's samples",
              "IWGAN's share of good samples above the GAN's of the same seed (same initialisation and random "
              "streams)", "improved (inception score)", source=IWGAN),
        Claim("iwgan_keeps_modes", "IWGAN covers as many modes as the GAN",
              "IWGAN covers at least as many modes as the GAN of the same seed", "—", source=IWGAN),
        Claim("aavae_helps_1pct", "AAVAE raises the test ELBO with 1% of the training data",
              "the AAVAE's mean test ELBO above the VAE's of the same seed (same initialisation and subset), 1% "
              "of the training images", "-122.89 -> -122.15 (MNIST)", source=AAVAE),
        Claim("aavae_helps_10pct", "AAVAE raises the test ELBO with 10% of the training data",
              "as aavae_helps_1pct, 10% of the training images", "raised (MNIST)", source=AAVAE),
    ),
    headlines=(
        Headline("lemma1_rel_error", "Lemma 1: |right - left| / |left| at theta0 (quadrature)", "0 (exact)"),
        Headline("lemma1_control_rel_error", "control, q^r at theta0 + delta: |control - left| / |left|",
                 "≠ 0"),
        Headline("discriminator_gap", "mean |q_phi0(y=1|x) - optimal| under the prior p_theta0", "any"),
        Headline("lemma1_kl_term", "E_p(y) KL(p_theta0(x|y) || q^r(x|y)) at theta0", "—"),
        Headline("lemma1_jsd_term", "JSD(p_g || p_data) at theta0 (below the KL term for the optimal discriminator; "
                 "not in general)", "≤ KL term (optimal discriminator)"),
        Headline("forward_between_mass", "forward-KL fit: mass outside both modes' 3-sd windows", "covers"),
        Headline("reverse_min_mode_mass", "reverse-KL fits: least mass on the mode each sits on", "seeks one"),
        Headline("modes_gan", "modes covered (of 8), GAN, median over seeds", "missing modes"),
        Headline("modes_iwgan", "modes covered, IWGAN, median", "—"),
        Headline("modes_vae", "modes covered, VAE, median", "all"),
        Headline("good_gan", "share of good samples (within 3 sd), GAN, median", "sharp"),
        Headline("good_iwgan", "share of good samples, IWGAN, median", "higher"),
        Headline("good_vae", "share of good samples, VAE, median", "blurry"),
        Headline("good_data", "share of good samples, the data itself", "0.989"),
        Headline("elbo_vae_1pct", "test ELBO (nats), VAE, 1% of the data, mean over seeds", "-122.89 (MNIST)"),
        Headline("elbo_aavae_1pct", "test ELBO (nats), AAVAE, 1%, mean", "-122.15 (MNIST)"),
        Headline("elbo_vae_10pct", "test ELBO (nats), VAE, 10%, mean", "—"),
        Headline("elbo_aavae_10pct", "test ELBO (nats), AAVAE, 10%, mean", "—"),
        Headline("aavae_gain_1pct", "AAVAE - VAE test ELBO, 1%, mean over seeds", "+0.74 (MNIST)"),
        Headline("aavae_gain_10pct", "AAVAE - VAE test ELBO, 10%, mean over seeds", "> 0"),
    ),
    figures=(
        KeyFigure("lemma1", "Lemma 1 on the line: the densities, the non-optimal discriminator, and both sides of "
                  "the identity against the generator's mean, with the control (quadrature)", rtol=1e-8, atol=1e-10),
        KeyFigure("kl_directions", "Gaussian fits to a bimodal target by the forward and the reverse KL, from "
                  "several starts (quadrature + L-BFGS; the fits' tolerance)", rtol=1e-5, atol=1e-7),
        # trained in float32 on one thread: deterministic on one machine kind; on another CPU the training's
        # round-off may move them beyond these tolerances (README, "the round-off rule")
        KeyFigure("mixture", "samples of the data, the GAN, the IWGAN and the VAE on the 2-D mixture, seed 0",
                  rtol=1e-2, atol=1e-2),
        KeyFigure("aavae", "test ELBO of the VAE and the AAVAE with 1% and 10% of the training data, and samples",
                  rtol=1e-2, atol=1e-2),
    ),
)
