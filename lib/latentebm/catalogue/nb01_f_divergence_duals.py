from latentebm.catalogue import Check, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

SPEC = NotebookSpec(
    name="01_f_divergence_duals",
    dtype="float64",
    threads=1,  # critics on a few thousand points: extra threads only contend on a shared CPU (20x slower there)
    # errors of exact computations: their digits are round-off (BLAS, threads), so they show as the bound they meet
    roundoff={"max_conjugate_error": 1e-10, "max_biconjugate_error": 1e-6},
    title="phi-divergences, their Fenchel duals and the variational lower bound",
    derives="seed 001 (Arbel, Zhou, Gretton): the phi-divergences, the conjugate dual, the variational lower "
    "bound and its tightness, the KL form behind KALE, and why disjoint supports break phi-divergences.",
    knobs=(
        Knob("conjugate_grid", 20001, 200001, "grid points in u for the numerical sup defining phi*", minimum=101),
        Knob("quadrature_points", 2001, 8001, "quadrature nodes for population values of the bound", minimum=101),
        Knob("critic_steps", 200, 500, "L-BFGS iterations when fitting a critic", minimum=1),
        Knob("sample_sizes", [50, 100, 200, 400, 800, 1600, 3200], [50, 100, 200, 400, 800, 1600, 3200, 6400, 12800],
             "samples per distribution for the KL estimator", kind=list, element=int, minimum=2),
        Knob("n_seeds", 30, 100, "repetitions per sample size", minimum=2),
        Knob("disjoint_shifts", [0.1, 0.25, 0.5, 1.0, 2.0], [0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
             "distances between the two supports", kind=list, minimum=0.0),
        Knob("disjoint_samples", 400, 4000, "samples per distribution on disjoint supports", minimum=10),
        Knob("lipschitz", 1.0, 1.0, "Lipschitz constant L of the restricted critic class", kind=float, minimum=0.0),
        Knob("adam_steps", 400, 2000, "Adam steps for the unrestricted KL dual on disjoint supports", minimum=1),
    ),
    comparisons=(
        Comparison("conjugate", "phi* in closed form is the numerical sup of u t - phi(u) (Fenchel conjugate)",
                   (Check("max_conjugate_error", "<", 1e-10, absolute=True),), paper="exact",
                   source="seed 001, slide 'Divergences'"),
        Comparison("biconjugate", "phi** = phi for convex, lower semi-continuous phi",
                   (Check("max_biconjugate_error", "<", 1e-6, absolute=True),), paper="exact",
                   source="seed 001, slide 'Divergences'"),
        Comparison("bound_tight", "the variational bound is tight at the critic phi'(p/q): the dual equals KL",
                   (Check("gaussian_kl_dual_optimal_critic", "≈", "gaussian_kl_closed_form", tol=1e-6),),
                   paper="KL(N(1, 0.7^2), N(0, 1)) = 0.6017 (closed form)",
                   source="seed 001, slide 'Bound tight when'"),
        Comparison("kl_estimator", "the dual fitted on samples estimates KL (within 5% at the largest n)",
                   (Check("gaussian_kl_estimate_largest_n", "≈", "gaussian_kl_closed_form", tol=0.03),),
                   paper="-> 0.6017 as n grows", source="seed 001, slide 'Lower-bound'"),
        Comparison("js_disjoint", "on disjoint supports the JS dual is log 2 whatever the distance between them",
                   (Check("js_disjoint_min", "≈", "log_2", tol=1e-3),), paper="log 2 = 0.6931",
                   source="seed 001, slide 'Divergences'"),
        Comparison("lipschitz_dual", "with L-Lipschitz critics the KL dual between lines a distance t apart is L t "
                   "(mean ratio over the shifts within 5%; from samples it can exceed L t up to L W1 of the samples, "
                   "as the notebook shows)",
                   (Check("lipschitz_kl_dual_over_lt", "≈", 1.0, tol=0.05),), paper="1 (derived by hand)",
                   source="seed 001, slide 'The KALE divergence'"),
    ),
    headlines=(
        Headline("max_conjugate_error", "largest |phi* closed form - numerical sup| on the grid", "0 (exact)"),
        Headline("max_biconjugate_error", "largest |phi** - phi| on the grid", "0 (phi** = phi)"),
        Headline("gaussian_kl_closed_form", "KL(N(1, 0.7^2), N(0, 1)), closed form", "0.6017"),
        Headline("gaussian_kl_dual_optimal_critic", "dual (2) at f = -log(p/q), by quadrature", "= closed form"),
        Headline("gaussian_kl_estimate_largest_n", "dual (2) fitted on the largest n, mean over seeds",
                 "-> closed form"),
        Headline("js_disjoint_min", "smallest JS dual estimate over the shifts (disjoint supports)", "log 2 = 0.6931"),
        Headline("lipschitz_kl_dual_over_lt", "Lipschitz KL dual / (L t), mean over shifts", "1 (derived by hand)"),
    ),
    figures=(
        KeyFigure("conjugates", "phi* closed form against the numerical sup", rtol=1e-9, atol=1e-9),
        KeyFigure("critic_classes", "the bound by critic class on a bimodal P", rtol=1e-4, atol=1e-4),
        KeyFigure("kl_estimator_error", "KL estimator error against n", rtol=1e-3, atol=1e-4),
        KeyFigure("disjoint_supports", "JS, Lipschitz and unrestricted duals on disjoint supports",
                  rtol=2e-2, atol=2e-3),
    ),
)
