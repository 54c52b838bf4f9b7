from latentebm.catalogue import Check, Claim, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.parameters import Knob

PAPER = "seed 001, post-credit slide (Arbel, Korba, Salim, Gretton, MMD gradient flow, NeurIPS 2019)"
KALE_FLOW = "REFERENCE.md, 'MMD gradient flow' (Glaser, Arbel, Gretton, KALE flow, NeurIPS 2021)"

SPEC = NotebookSpec(
    name="09_particle_flows",
    dtype="float64",
    threads=1,  # a few hundred particles: extra threads only contend on a shared CPU
    thumbnail="stalling",
    title="Particle gradient flows of the MMD and of KALE",
    derives="seed 001, post-credit slide (Arbel, Korba, Salim, Gretton, MMD gradient flow): the MMD flow's "
    "dissipation, the descent lemma for its Euler steps, stalling and noise injection, the KALE flow with disjoint "
    "supports, and the student-teacher experiment.",
    knobs=(
        Knob("n_seeds", 3, 10, "seeds (targets, starts and noise) for every flow experiment", minimum=2),
        Knob("dissipation_factors", [1.0, 0.1, 0.01, 0.001], [1.0, 0.1, 0.01, 0.001, 0.0001],
             "step sizes of the one-step dissipation check, in units of 2/(3L)", kind=list, minimum=1e-8),
        Knob("audit_factors", [0.5, 0.99, 3.0, 30.0, 100.0], [0.25, 0.5, 0.99, 3.0, 10.0, 30.0, 100.0, 300.0],
             "step sizes of the descent-lemma audit, in units of 2/(3L)", kind=list, minimum=1e-8),
        Knob("audit_steps", 200, 2000, "Euler steps per audited flow", minimum=1),
        Knob("flow_step", 0.05, 0.05, "Euler step of the MMD flows of section 3 (7.5 x 2/(3L) at sigma 0.1)",
             kind=float, minimum=1e-8),
        Knob("flow_steps", 4000, 40000, "steps of each MMD flow of section 3", minimum=100, multiple_of=100),
        Knob("injection_beta", 0.3, 0.3, "beta_0 of the injection schedule beta_0 / sqrt(1 + n / s)", kind=float,
             minimum=0.0),
        Knob("injection_scale", 500.0, 500.0, "s of that schedule (steps)", kind=float, minimum=1e-8),
        Knob("halving_beta", 0.5, 0.5, "beta_0 of the halving schedule", kind=float, minimum=0.0),
        Knob("halving_every", 500, 500, "steps between halvings", minimum=1),
        Knob("diffusion_beta", 0.05, 0.05, "noise level beta of the diffusion variant", kind=float, minimum=0.0),
        Knob("kale_penalty", 0.01, 0.01, "RKHS penalty lambda of the KALE flow", kind=float, minimum=1e-8),
        Knob("kale_step", 1e-3, 1e-3, "Euler step of the KALE flow", kind=float, minimum=1e-8),
        Knob("kale_steps", 3000, 20000, "KALE-flow steps (a fixed budget)", minimum=100, multiple_of=100),
        Knob("st_dimension", 10, 50, "student-teacher input dimension", minimum=1),
        Knob("st_particles", 200, 1000, "student particles (small networks)", minimum=2),
        Knob("st_steps", 3000, 100000, "student-teacher SGD steps", minimum=100, multiple_of=100),
        Knob("st_seeds", 3, 5, "student-teacher seeds", minimum=2),
        Knob("st_lr", 10.0, 10.0, "mean-field learning rate of the student-teacher runs (the flow's step)",
             kind=float, minimum=1e-8),
        Knob("st_halving_every", 500, 10000, "steps between halvings of the injected noise (beta_0 = 1)", minimum=1),
        Knob("st_dense_lr", 1.0, 1.0, "learning rate of the dense-student ablation", kind=float, minimum=1e-8),
        Knob("st_dense_seeds", 1, 5, "seeds of the dense-student ablation (at most st_seeds)", minimum=1),
        Knob("st_diffusion_beta", 0.001, 0.001, "constant beta of the student-teacher diffusion variant", kind=float,
             minimum=0.0),
    ),
    roundoff={"witness_gradient_error": 1e-12, "energy_terms_error": 1e-12, "energy_vs_mmd_module_error": 1e-12},
    claims=(
        Claim("plain_flow_stalls", "the plain MMD flow can stop at nu != mu (F bounded away from 0)",
              "final F above 1.5 x the F of a fresh sample of the target, with at least a fifth of the particles "
              "stranded farther than 3 sigma from every target point and their mean |grad f| below 1e-3 of the "
              "kernel's steepest slope", "stalls (theory and figures)", source=PAPER),
        Claim("injection_escapes", "noise injection with sum beta_n^2 = infinity escapes and reaches a lower F",
              "final F of injection (beta_0 / sqrt(1 + n/s)) below 0.8 x the plain flow's", "F -> 0 (theorem)",
              source=PAPER),
        Claim("halving_stalls", "(issue) a schedule with finite sum beta_n^2 (the authors' default halving) may not "
              "escape", "final F of injection with halving above 0.8 x the plain flow's",
              "the divergence condition is only sufficient", source="issue 13; REFERENCE.md (the authors' defaults)"),
        Claim("diffusion_elsewhere", "the diffusion variant (noise in the particles) does not converge to mu",
              "a smaller share of its particles on the rings than even the plain flow's", "another fixed point",
              source=PAPER),
        Claim("kale_escapes", "the KALE flow keeps working when the supports are disjoint, where the MMD flow "
              "stalls", "final F of the KALE flow (its step budget) below 0.8 x the plain MMD flow's stall F",
              "qualitative (figures)", source=KALE_FLOW),
        Claim("kale_sooner", "(ours) the KALE flow decreases F faster in flow time",
              "flow time to F <= 5% of F(start), interpolated, shorter for KALE than for the plain MMD flow",
              "—", source="ours: a rate, not a claim of the papers (flow time is not a common unit of work)"),
        Claim("st_injection_best", "in the student-teacher problem noise injection reaches the lowest validation "
              "error", "final validation loss of injection below both no noise's and diffusion's",
              "curves only (lowest)", source=PAPER),
    ),
    comparisons=(
        Comparison("dissipation", "dF/dt = -int |grad f|^2 dnu: measured over predicted decrease of one step -> 1",
                   (Check("dissipation_ratio_error_smallest", "<", 1e-3),
                    Check("dissipation_error_slope", "≈", 1.0, tol=0.1)),
                   paper="ratio -> 1, error of order gamma (derived)", source=PAPER),
        Comparison("descent_lemma", "below gamma = 2/(3L) every Euler step decreases F by at least the bound",
                   (Check("lemma_violations", "≤", 0), Check("ascents_below_bound", "≤", 0)),
                   paper="0 violations (theorem)", source=PAPER),
        Comparison("large_step_rises", "a step well above the bound does not guarantee descent: F rises",
                   (Check("largest_step_rose_often", "≥", 1), Check("pair_ascent_threshold_holds", "≥", 1)),
                   paper="no guarantee above 2/(3L)", source=PAPER),
    ),
    headlines=(
        Headline("lemma_violations", "descent-lemma violations over every audited step, all step sizes",
                 "0 (theorem)"),
        Headline("ascents_below_bound", "steps on which F rose, steps below 2/(3L)", "0 (theorem)"),
        Headline("smallest_factor_with_ascent", "smallest audited step (x 2/(3L)) on which F rose", "> 1"),
        Headline("plain_final_energy", "final F of the plain flow from the far start, median", "stalls > 0"),
        Headline("plain_stranded_share", "plain flow: share of particles > 3 sigma from every target point",
                 "> 0 when stalled"),
        Headline("injection_final_energy", "final F with noise injection (beta ~ n^-1/2), median", "-> 0"),
        Headline("halving_final_energy", "final F with noise injection halved every 500 steps, median", "—"),
        Headline("diffusion_final_energy", "final F of the diffusion variant, median", "another fixed point"),
        Headline("fresh_sample_energy", "F between the target and a fresh sample of it, median", "—"),
        Headline("plain_on_target", "share of particles on a ring, plain flow, median", "1"),
        Headline("injection_on_target", "share of particles on a ring, injection, median", "1"),
        Headline("kale_final_energy", "final F of the KALE flow from the far start, median", "-> 0 (claimed)"),
        Headline("kale_stranded_share", "KALE flow: share of particles > 3 sigma from every target point", "0"),
        Headline("empirical_constant_below_bound", "largest measured descent constant c below 2/(3L)",
                 "<= 3/2 (lemma)"),
        Headline("kale_time_to_target", "KALE flow: flow time to F <= 5% of F(start), median", "—"),
        Headline("mmd_time_to_target", "MMD flow: flow time to F <= 5% of F(start), median", "—"),
        Headline("st_none_final", "student-teacher final validation loss, no noise, median", "—"),
        Headline("st_injection_final", "student-teacher final validation loss, noise injection, median", "lowest"),
        Headline("st_diffusion_over_none", "student-teacher final validation loss, diffusion / no noise, median",
                 "> injection's"),
        Headline("st_dense_injection_worse",
                 "the authors' dense student (ablation, one seed in ci): injection worse than no noise by > 2x "
                 "(1 = yes)",
                 "no (injection helps)"),
        Headline("st_injection_over_none", "student-teacher final validation loss, injection / no noise, median",
                 "< 1 (curves)"),
    ),
    figures=(
        # exact float64 computations on seeded clouds (how many steps rose at 100x is chaotic: only whether any
        # rose is saved), so only linear-algebra round-off moves them
        KeyFigure("descent_lemma", "one-step dissipation error against the step; rises of F against the step",
                  rtol=1e-6, atol=1e-9),
        # 4000 Euler steps (and noise) may amplify round-off of the kernel sums on another CPU: positions are
        # compared to a hundredth of the kernel width, which still catches any change of the flow or its noise
        KeyFigure("stalling", "final particles of the four MMD-flow variants (seed 0) and their F", rtol=1e-2,
                  atol=1e-3),
        KeyFigure("kale_vs_mmd", "F against flow time: MMD flow against KALE flow", rtol=1e-3, atol=1e-5),
        KeyFigure("student_teacher", "student-teacher validation loss: no noise, injection, diffusion", rtol=1e-3,
                  atol=1e-6),
    ),
)
