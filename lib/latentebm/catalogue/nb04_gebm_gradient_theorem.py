from latentebm.catalogue import Check, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

SPEC = NotebookSpec(
    name="04_gebm_gradient_theorem",
    dtype="float64",  # finite differences need the inner problem solved to ~1e-12
    threads=1,
    # errors of solves that are exact up to round-off or optimiser tolerance: shown as the bound they meet
    roundoff={"c_star_minus_log_z": 1e-6, "kale_minus_kl": 1e-10, "fd_rel_error": 1e-6,
              "mlp_fd_vs_iw_same_latents": 1e-4},
    title="GEBM: the generalized likelihood, KALE over E + R, and the generator gradient theorem",
    derives="seed 001 (Arbel, Zhou, Gretton), slides 'Generalized energy-based models' to 'Training the base "
    "measure': the generalized log-likelihood, its KALE lower bound over E + R with c* = log Z, finiteness on "
    "mutually singular supports, the gradient of K(theta) checked three ways, and the refinement bound "
    "KALE(P, Q_{B,E*}) <= 2 KALE(P, B).",
    knobs=(
        Knob("dim", 3, 3, "dimension d of the Gaussian problem", minimum=1),
        Knob("sigma", 0.8, 0.8, "standard deviation of P = N(mu, sigma^2 I)", kind=float, minimum=0.5, maximum=1.4),
        Knob("fd_step", 1e-4, 1e-4, "step h of the central differences", kind=float, minimum=1e-8),
        Knob("iw_sizes", [100, 300, 1000, 3000, 10000], [100, 300, 1000, 3000, 10000, 30000, 100000],
             "latent sample sizes M of the importance-weighted estimator", kind=list, element=int, minimum=2),
        Knob("iw_repeats", 40, 200, "repetitions of the estimator per M", minimum=2),
        Knob("mlp_samples", 500, 2000, "samples of P and latents in the MLP check", minimum=10),
        Knob("mlp_hidden", 16, 32, "hidden width of the MLP base and energy", minimum=1),
        Knob("mlp_weight_decay", 0.05, 0.05, "penalty on the energy's weights (a well-posed inner problem)",
             kind=float, minimum=0.0),
        Knob("mlp_directions", 4, 12, "random directions in theta for the finite differences", minimum=1),
        Knob("mlp_fd_step", 1e-3, 1e-3, "finite-difference step in the MLP check", kind=float, minimum=1e-8),
        Knob("lbfgs_iter", 400, 2000, "L-BFGS iterations of the inner maximisation", minimum=10),
        Knob("fresh_batches", 20, 100, "fresh latent batches for the estimator's spread", minimum=2),
        Knob("ball_radius", 1.0, 1.0, "radius L of the linear energy class |w| <= L", kind=float, minimum=0.01),
        Knob("grid_points", 81, 201, "grid per axis for the sup over the ball by search", minimum=11),
        Knob("ball_samples", 4000, 20000, "samples per distribution for the sample-based ball checks", minimum=10),
    ),
    comparisons=(
        Comparison("c_star", "the optimal constant of the log-convexity bound is c* = log Z",
                   (Check("c_star_minus_log_z", "<", 1e-6, absolute=True),), paper="exact",
                   source="seed 001, slide 'Generalized Log-Likelihood has the lower bound'"),
        Comparison("kale_is_kl", "K(theta) = KL(P, Q_theta) when the class holds -log p/q",
                   (Check("kale_minus_kl", "<", 1e-10, absolute=True),), paper="exact",
                   source="seed 001, slide 'Generalized Log-Likelihood has the lower bound'"),
        Comparison("gradient_theorem", "the generator gradient theorem: grad K(theta) in closed form equals "
                   "finite differences, and the importance-weighted estimator converges to it",
                   (Check("fd_rel_error", "<", 1e-6), Check("iw_rel_error_largest_m", "<", 0.05)),
                   paper="exact (Gaussian case); IW error -> 0 as M^-1/2",
                   source="seed 001, slide 'Recall the generator'"),
        Comparison("envelope", "for an MLP generator, finite differences equal the IW estimator on the same latents "
                   "(envelope theorem) and agree within 3 sd on fresh latents",
                   (Check("mlp_fd_vs_iw_same_latents", "<", 1e-4), Check("mlp_fd_vs_iw_fresh_in_sd", "<", 3.0)),
                   paper="0; O(1) sd", source="seed 001, slide 'Recall the generator'"),
        Comparison("singular_supports", "KALE stays finite and at most L W1 on mutually singular supports (on "
                   "parallel lines it reaches L W1: the bound allows 1e-9 of round-off)",
                   (Check("singular_kale_over_lw1", "≤", 1.0 + 1e-9),), paper="<= 1",
                   source="seed 001, slide 'Theorem'"),
        Comparison("refinement", "KALE of the base refined by the optimal energy is at most twice the base's "
                   "(closed forms, ball class)",
                   (Check("refinement_max_ratio", "≤", 2.0),), paper="<= 2 (paper's bound)",
                   source="seed 001, slide 'Generalized energy-based models'"),
    ),
    headlines=(
        Headline("c_star_minus_log_z", "|c* - log Z| at the numerical joint maximum (Gaussian case)", "0"),
        Headline("kale_minus_kl", "|K(theta) - KL(P, Q_theta)| (the class holds -log p/q)", "0"),
        Headline("fd_rel_error", "max |central difference - (theta - mu)| / |theta - mu|", "0 (up to O(h^2))"),
        Headline("iw_rel_error_largest_m", "mean |IW estimator - closed form| / |theta - mu| at the largest M",
                 "-> 0 as M^{-1/2}"),
        Headline("mlp_fd_vs_iw_same_latents", "MLP: max relative gap, finite differences vs IW on the same latents",
                 "0 (envelope theorem)"),
        Headline("mlp_fd_vs_iw_fresh_in_sd", "MLP: max |FD - mean IW on fresh latents| in sd of one estimate",
                 "O(1) (Monte-Carlo error)"),
        Headline("singular_kale_over_lw1", "max KALE(ball) / (L W1) on mutually singular lines", "<= 1"),
        Headline("refinement_max_ratio", "max KALE(P, Q_{B,E*}) / KALE(P, B), ball class", "<= 2 (paper's bound)"),
    ),
    figures=(
        KeyFigure("convexity_gap", "-log u >= -c - e^{-c} u + 1, tight at c = log u (closed form)",
                  rtol=1e-9, atol=1e-12),
        KeyFigure("gradient_three_ways", "grad K: closed form, central differences, IW estimator (seeded Monte "
                  "Carlo; tolerance covers summation-order differences)", rtol=1e-5, atol=1e-7),
        KeyFigure("gradient_mlp", "MLP: finite differences vs IW estimator (L-BFGS inner solves; looser tolerance "
                  "for optimiser round-off across BLAS builds)", rtol=2e-3, atol=1e-5),
        KeyFigure("singular_supports", "KALE and L(E) on mutually singular supports (seeded samples)",
                  rtol=1e-6, atol=1e-8),
        KeyFigure("refinement_bound", "KALE(P, Q_{B,E*}) <= 2 KALE(P, B) (closed form + seeded samples)",
                  rtol=1e-6, atol=1e-8),
    ),
)
