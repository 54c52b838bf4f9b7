from latentebm.catalogue import Check, Comparison, Headline, KeyFigure, NotebookSpec
from latentebm.catalogue.knobs import Knob
from latentebm.data.tabular import CI_DATASETS, DATASETS, FULL_DATASETS
from latentebm.experiments.realnvp import RECIPES

_CI, _FULL = RECIPES["ci"], RECIPES["full"]


def _recipe_knob(name: str, help: str, **checks) -> Knob:
    """A knob whose profile values are the recipe's (experiments/realnvp.py holds every training default)."""
    return Knob(name, getattr(_CI, name), getattr(_FULL, name), help, **checks)


_METHODS = (("mle", "NVP alone (MLE)"), ("cd", "NVP + energy by CD"), ("dv", "NVP + energy by Donsker-Varadhan"),
            ("kale", "NVP + energy by KALE"))
# test NLL read off the authors' chart (REFERENCE.md), in the order MLE, CD, DV, KALE
_PAPER = {"redwine": ("12.14", "12.40", "12.20", "11.90"), "whitewine": ("12.87", "13.60", "13.30", "13.10"),
          "parkinsons": ("12.19", "14.50", "14.30", "13.20"), "hepmass": ("17.96", "—", "—", "—"),
          "miniboone": ("35.54", "—", "—", "—")}

WINE = "scikit-learn's wine (178 points, 13-d) in ci, not the UCI RedWine of the paper"

SPEC = NotebookSpec(
    name="07_realnvp_sanity_check",
    dtype="float64",
    threads=1,  # small flows: on a shared 2-core CPU extra threads only contend (174-337 s against 34-53 s)
    title="The Real NVP sanity check: a GEBM whose base has a density is an EBM",
    derives="seed 001 (Arbel, Zhou, Gretton), 'Sanity check: reduction to EBM case': with a Real NVP base the "
    "GEBM is an ordinary EBM with base measure q_theta; the flow's change-of-variables density; the energy trained "
    "by KALE, Donsker-Varadhan and contrastive divergence; test log-likelihoods with log Z by importance sampling.",
    knobs=(
        Knob("datasets", list(CI_DATASETS), list(FULL_DATASETS),
             "tabular datasets for the NLL table (data/tabular.py), a list or comma-separated", kind=list,
             element=str, choices=DATASETS),
        Knob("n_seeds", 3, 5, "training seeds per dataset (spread of the table)", minimum=1),
        _recipe_knob("flow_layers", "affine coupling layers of the Real NVP", minimum=1),
        _recipe_knob("flow_hidden", "hidden width of each coupling's MLP", minimum=1),
        _recipe_knob("flow_steps", "Adam steps of maximum-likelihood training of the NVP", minimum=1),
        _recipe_knob("flow_lr", "Adam learning rate of the NVP", kind=float, minimum=0.0),
        _recipe_knob("batch_size", "data minibatch for every training loop", minimum=1),
        _recipe_knob("energy_hidden", "hidden width of the energy MLP (two hidden layers)", minimum=1),
        _recipe_knob("energy_steps", "Adam steps of energy training, per method", minimum=1),
        _recipe_knob("energy_lr", "Adam learning rate of the energy (and KALE's c)", kind=float, minimum=0.0),
        _recipe_knob("n_base", "base draws per step for the Q-expectations of KALE and DV", minimum=2),
        _recipe_knob("cd_negatives", "Langevin negatives per contrastive-divergence step", minimum=2),
        _recipe_knob("langevin_steps", "short-run latent Langevin steps per CD step (from base draws)", minimum=1),
        _recipe_knob("langevin_step_size", "latent Langevin step size gamma", kind=float, minimum=0.0),
        _recipe_knob("train_base", "train the NVP jointly with the energy (else it stays at its MLE)", kind=bool),
        _recipe_knob("eval_every", "steps between validation checks (model selection)", minimum=1),
        _recipe_knob("eval_samples", "base draws for log Z at each validation check (the same at every check)",
                     minimum=2),
        Knob("log_z_samples", 4096, 65536, "base draws per importance-sampling repeat for the test log Z",
             minimum=2),
        Knob("log_z_repeats", 8, 20, "independent repeats of the test log Z (its spread)", minimum=2),
        Knob("ais_temperatures", 50, 1000, "temperatures of annealed importance sampling", minimum=1),
        Knob("ais_chains", 256, 2048, "AIS chains per repeat", minimum=2),
        Knob("ais_step_size", 5e-2, 2e-2, "MALA step size inside AIS (latent space)", kind=float, minimum=0.0),
        Knob("checkpoint_every", 0, 1000, "steps between checkpoints of every training run (0: none)", minimum=0),
        _recipe_knob("toy_samples", "two-moons training points for the 2-D checks", minimum=10),
        _recipe_knob("toy_flow_steps", "MLE steps of the 2-D NVP", minimum=1),
        _recipe_knob("toy_energy_steps", "KALE steps of the 2-D energy", minimum=1),
        Knob("grid_cells", 240, 480, "grid cells per axis on [-3, 3]^2 (a multiple of 8)", minimum=8, multiple_of=8),
        Knob("box_samples", 20000, 200000, "flow samples for the box-probability check", minimum=100),
    ),
    comparisons=(
        Comparison("flow_density", "the change of variables gives a normalised density whose boxes match the flow's "
                   "samples (every box within 4 standard errors)",
                   (Check("toy_flow_mass", "≈", 1.0, tol=1e-4), Check("toy_box_max_z", "<", 4.0)),
                   paper="mass 1; O(1) standard errors",
                   source="seed 001, slide 'Sanity check: reduction to EBM case'"),
        Comparison("gebm_is_ebm", "with a density base the GEBM is the EBM exp(-r) q_theta / Z: importance weights "
                   "give its log Z (within 0.01) and its cell masses (within 0.02)",
                   (Check("toy_log_z_gap", "<", 0.01), Check("toy_cell_max_gap", "<", 0.02)),
                   paper="0 (same model)", source="seed 001, slide 'Sanity check: reduction to EBM case'"),
        Comparison("log_z_ais", "log Z by AIS agrees with importance sampling within 3 standard deviations of the "
                   "importance-sampling estimate", (Check("log_z_ais_minus_is", "<", "log_z_is_std", factor=3.0,
                                                        absolute=True),),
                   paper="same log Z", source="seed 001, slide 'Sanity check: reduction to EBM case'"),
        Comparison("energy_helps_ci", "an energy trained by KALE on top of the NVP lowers its test NLL (RedWine: "
                   "11.90 against 12.14)",
                   direction=(Check("nll_kale_sklearn_wine", "<", "nll_mle_sklearn_wine"),),
                   shows=("nll_kale_sklearn_wine_std",), paper="KALE 11.90 < MLE 12.14 (RedWine)",
                   source="seed 001, slide 'Sanity check: reduction to EBM case'", differs=WINE),
        Comparison("kale_best_energy_ci", "KALE trains the best energy of the three (RedWine: KALE 11.90, DV 12.20, "
                   "CD 12.40)",
                   direction=(Check("nll_kale_sklearn_wine", "<", "nll_dv_sklearn_wine"),
                              Check("nll_kale_sklearn_wine", "<", "nll_cd_sklearn_wine")),
                   shows=("nll_kale_sklearn_wine_std", "nll_dv_sklearn_wine_std"),
                   paper="KALE 11.90 < DV 12.20 < CD 12.40 (RedWine)",
                   source="seed 001, slide 'Sanity check: reduction to EBM case'", differs=WINE),
        *(Comparison(f"nll_{m}_{data}", f"{data}: test NLL of the {label}, as read off the paper's chart (within 0.5 "
                     "nats: chart reading and seeds)", (Check(f"nll_{m}_{data}", "≈", float(paper[i]), tol=0.5),),
                     paper=paper[i], source="seed 001, slide 'Sanity check: reduction to EBM case'", profile="full")
          for data, paper in _PAPER.items() for i, (m, label) in enumerate(_METHODS) if paper[i] != "—"),
    ),
    headlines=(
        Headline("toy_flow_mass", "2-D flow: integral of q_theta on the grid (change of variables)", "1"),
        Headline("toy_box_max_z", "2-D flow: largest |sample frequency - quadrature| / std. error over boxes",
                 "O(1) (same law)"),
        Headline("toy_log_z_gap", "2-D GEBM: |log Z by importance weights - log Z on the grid|", "0 (same model)"),
        Headline("toy_cell_max_gap", "2-D GEBM: largest cell-mass gap, importance weights vs exp(-r)/Z", "0"),
        *(Headline(f"nll_{m}_sklearn_wine", f"wine (sklearn, 13-d, ci): {label}, mean over seeds",
                   "— (no published number)") for m, label in _METHODS),
        *(Headline(f"nll_{m}_{data}", f"{data} (full): {label}", paper[i])
          for data, paper in _PAPER.items() for i, (m, label) in enumerate(_METHODS)),
    ),
    figures=(
        # trained for a fixed number of deterministic CPU steps: the box probabilities are smooth summaries of
        # the flow; 2e-3 absorbs floating-point reordering, a changed flow or quadrature moves them by more
        KeyFigure("flow_density_2d", "the change-of-variables density against sample frequencies on boxes",
                  rtol=0.0, atol=2e-3),
        KeyFigure("gebm_reduction_2d", "the GEBM model density by importance weights and by exp(-r)/Z",
                  rtol=0.0, atol=2e-3),
        # seed-averaged test NLLs and their spread; 0.05 nats is well below the gaps between methods that the
        # table is about, and well above floating-point noise
        KeyFigure("nll_table", "test NLL by method and seed (ci dataset)", rtol=0.0, atol=0.05),
        KeyFigure("log_z_spread", "log Z by importance sampling and by AIS, repeats", rtol=0.0, atol=0.03),
    ),
)
