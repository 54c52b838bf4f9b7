# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · The Real NVP sanity check: a GEBM whose base has a density is an EBM
#
# **Derives** (seed 001, Arbel, Zhou & Gretton, *Generalized Energy-Based Models*, slide "Sanity check:
# reduction to EBM case": "base measure $B_\theta$ is real NVP with closed-form density"): why a GEBM whose base
# has a density is an ordinary energy-based model with base measure $q_\theta$; the change-of-variables density
# of a Real NVP; and the comparison of energies trained on top of it by contrastive divergence, by the
# Donsker-Varadhan bound and by KALE, in test log-likelihood, with $\log Z$ estimated by importance sampling
# with the NVP as proposal (and checked by annealed importance sampling). Each step is checked by a computation.
#
# Re-run with other settings: `papermill notebooks/07_realnvp_sanity_check.ipynb out.ipynb -p n_seeds 5`
# (from `notebooks/`, or with `--cwd notebooks`), or through the package,
# `python -m latentebm.reporting --only 07_realnvp_sanity_check -p n_seeds=5`. The `full` profile
# (`-p profile full`, meant for a GPU) downloads the UCI datasets and fills the table next to the paper's numbers.

# %% tags=["parameters"]
profile = "ci"  # "ci": CPU, minutes; "full": paper scale
seed = 0
device = "auto"  # "auto" | "cpu" | "cuda"
output_dir = "build/ci"  # relative paths resolve from the repository root
# knobs below: None takes the profile's value (see latentebm/catalogue/nb07_realnvp_sanity_check.py)
datasets = None
n_seeds = None
flow_layers = None
flow_hidden = None
flow_steps = None
flow_lr = None
batch_size = None
energy_hidden = None
energy_steps = None
energy_lr = None
n_base = None
cd_negatives = None
langevin_steps = None
langevin_step_size = None
train_base = None
eval_every = None
eval_samples = None
log_z_samples = None
log_z_repeats = None
ais_temperatures = None
ais_chains = None
ais_step_size = None
checkpoint_every = None
toy_samples = None
toy_flow_steps = None
toy_energy_steps = None
grid_cells = None
box_samples = None

# %%
from latentebm.parameters import configure

params = configure("07_realnvp_sanity_check", globals())
print(params.profile, params.device)

# %%
import copy
import math

import numpy as np
import torch
from latentebm.data import tabular, toys
from latentebm.metrics import likelihood
from latentebm.models.flows import RealNVP
from latentebm.plotting import flows as plots
from latentebm.reporting import record_metrics, save_figure
from latentebm.runtime import torch_generator
from latentebm.training import ebm
from latentebm.training.flows import FlowFitConfig, fit_flow, mean_nll
from latentebm.training.loop import ProgressLog

torch.set_default_dtype(torch.float64)
dataset_names = tabular.check_names(params.datasets)
if params.grid_cells % 8:
    raise tabular.ParameterError(f"parameter 'grid_cells' must be a multiple of 8, got {params.grid_cells}")
dev = params.device
log = ProgressLog.to_file(params.output_dir / "logs" / f"{params.notebook}.log", every=100)
checkpoints = params.output_dir / "checkpoints" / params.notebook


def checkpoint(name):
    """A checkpoint file per training run, or None when checkpoints are off (ci: every run starts afresh)."""
    return checkpoints / f"{name}.pt" if params.checkpoint_every else None


metrics = {}

# %% [markdown]
# ## 1. Why a base with a density reduces the GEBM to an EBM
#
# A GEBM has a base (generator) $X=B_\theta(Z)$, $Z\sim\eta$, with law $Q_\theta$, and an energy $E$. The model
# $Q_{B,E}$ is defined by its density **with respect to $Q_\theta$**:
# $$\frac{dQ_{B,E}}{dQ_\theta}(x)=\frac{e^{-E(x)}}{Z},\qquad Z=\int e^{-E}\,dQ_\theta=\mathbb E_{\eta}\,
# e^{-E(B_\theta(Z))}. \tag{1}$$
# No Lebesgue density is needed: $Q_\theta$ may live on a low-dimensional manifold, and (1) only reweights it.
#
# Now let $B_\theta$ be a diffeomorphism of $\mathbb R^d$ (a Real NVP), with inverse $f_\theta$. Then
# $Q_\theta$ has the density $q_\theta(x)=\eta(f_\theta(x))\,\lvert\det\partial f_\theta/\partial x\rvert$
# (section 2), and for any set $A$,
# $$Q_{B,E}(A)=\int_A \frac{e^{-E(x)}}{Z}\,q_\theta(x)\,dx\quad\Longrightarrow\quad
# p(x)=\frac{q_\theta(x)\,e^{-E(x)}}{Z}=\frac{e^{-r(x)}}{Z},\qquad r=E-h_\theta,\ h_\theta=\log q_\theta,
# \tag{2}$$
# with $Z=\int q_\theta e^{-E}dx=\int e^{-r}dx$, the same constant as in (1). So the GEBM is an ordinary EBM:
# energy $E$ with base measure $q_\theta$, or, equivalently, Lebesgue energy $r=E-\log q_\theta$ (the issue
# writes $E=r-h_\theta$ with $h_\theta$ the base's energy $-\log q_\theta$: the same statement). Its
# log-likelihood is exact up to $\log Z$, and $\log Z$ is estimated by importance sampling with the base as
# proposal: $\hat Z=\frac1n\sum_i e^{-E(x_i)}$, $x_i\sim q_\theta$, unbiased for $Z$ (metrics/likelihood.py).
#
# **Training the energy.** The log-likelihood in the energy's parameters $\psi$ is
# $$\mathcal L(\psi)=\mathbb E_P\log p=\mathbb E_P h_\theta\;\underbrace{-\,\mathbb E_P E-\log\mathbb E_{Q_\theta}
# e^{-E}}_{\text{Donsker-Varadhan } D(E)},\qquad
# -\log u\ \ge\ -c-e^{-c}u+1\ \Longrightarrow\ D(E)\ \ge\ \underbrace{-\mathbb E_P(E+c)+1-\mathbb E_{Q_\theta}
# e^{-(E+c)}}_{\text{KALE } F(E,c)} \tag{3}$$
# with equality at $c=\log\mathbb E_{Q_\theta}e^{-E}$ (seed 001, "one last trick"). So maximising KALE over
# $(\psi,c)$, maximising DV over $\psi$, and following the contrastive-divergence gradient
# $-\mathbb E_P\nabla E+\mathbb E_p\nabla E$ all target the same maximum-likelihood energy. They differ as
# *estimators*: KALE is linear in both expectations (unbiased minibatch gradients), DV takes the log of a
# minibatch mean (biased), CD replaces $\mathbb E_p$ by short-run Langevin chains (biased by the chains'
# failure to mix). Whether these differences show in held-out likelihood is the empirical question of section 4.
#
# ## 2. The Real NVP and its change-of-variables density
#
# An affine coupling layer keeps the coordinates where the mask $m$ is 1 and transforms the others,
# $y=m\odot x+(1-m)\odot\big(x\odot e^{s(m\odot x)}+t(m\odot x)\big)$. Ordering the kept coordinates first, its
# Jacobian is block triangular with identity and $\operatorname{diag}(e^{s})$ on the diagonal, so
# $\log\lvert\det\partial y/\partial x\rvert=\sum_i(1-m_i)s_i$, and the inverse is explicit,
# $x=m\odot y+(1-m)\odot(y-t(m\odot y))\odot e^{-s(m\odot y)}$. Composing layers with alternating masks,
# $$\log q_\theta(x)=\log\eta(f_\theta(x))+\sum_{\ell}\log\lvert\det\partial y_\ell/\partial y_{\ell-1}\rvert.
# \tag{4}$$
# Train one by maximum likelihood on a 2-D toy (two moons), then check (4) three ways.

# %%
g_toy = torch_generator(params.seed, dev)
moons = toys.two_moons(params.toy_samples + params.toy_samples // 4, 0.08, torch_generator(params.seed)).to(dev)
moons_train, moons_val = moons[:params.toy_samples], moons[params.toy_samples:]
torch.manual_seed(params.seed)
toy_flow = RealNVP(2, n_layers=6, hidden=32).to(dev)
toy_fit = fit_flow(toy_flow, moons_train, moons_val,
                   FlowFitConfig(steps=params.toy_flow_steps, batch_size=256, lr=2e-3, eval_every=50),
                   g_toy, log=log, checkpoint=checkpoint("toy_flow"))
print(f"2-D NVP: validation NLL {toy_fit.best_val_nll:.2f} nats (a 2-D standard normal would give "
      f"{mean_nll(RealNVP(2, 1).to(dev), moons_val):.2f})")

# %% [markdown]
# **(a) The log-determinant against autograd.** The Jacobian of $f_\theta$ computed by automatic
# differentiation, and its log-determinant by LU, against the sum of the $s$'s, at a few points; and the
# inverse composed with the flow.

# %%
points = moons_val[:8]
_, log_det = toy_flow.to_latent(points)
autograd_log_det = torch.stack([
    torch.linalg.slogdet(torch.autograd.functional.jacobian(lambda v: toy_flow.to_latent(v[None])[0][0], p))[1]
    for p in points])
print("log-det = autograd's, to 1e-10:", bool(torch.allclose(log_det, autograd_log_det, atol=1e-10)))
with torch.no_grad():
    round_trip = toy_flow.generate(toy_flow.to_latent(moons_val)[0])[0]
print("B(f(x)) = x to 1e-10:", bool(torch.allclose(round_trip, moons_val, atol=1e-10)))

# %% [markdown]
# **(b) The density integrates to 1.** Midpoint quadrature of $q_\theta$ on $[-3,3]^2$ (the mass outside the
# square is tiny for this toy).
#
# **(c) It is the density of the sampler.** Cut the square into $8\times8$ boxes. For each box, the probability
# by quadrature of (4) should match the fraction of samples $B_\theta(z)$, $z\sim\eta$, that fall in it, within
# binomial standard errors $\sqrt{\pi(1-\pi)/n}$. (b) and (c) together check that (4) is the density of the
# pushforward of $\eta$, not just some normalised function.

# %%
def grid_and_boxes(cells, half_width=3.0):
    """Cell centres on [-h, h]^2: axis (G,), points (G*G, 2), cell area, and each cell's box index (8 x 8)."""
    h = 2 * half_width / cells
    axis = -half_width + h * (torch.arange(cells, dtype=torch.float64) + 0.5)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    box = (torch.arange(cells) // (cells // 8))
    box_index = (box[:, None] * 8 + box[None, :]).reshape(-1)
    return axis, torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), h * h, box_index


def box_masses(values, box_index):
    """Sum values (G*G,) within each of the 64 boxes."""
    return torch.zeros(64, dtype=values.dtype).index_add_(0, box_index, values)


axis, grid, cell_area, box_index = grid_and_boxes(params.grid_cells)
with torch.no_grad():
    log_q_grid = toy_flow.log_prob(grid.to(dev)).cpu()
    samples, _ = toy_flow.sample(params.box_samples, g_toy)
samples = samples.cpu()
metrics["toy_flow_mass"] = (log_q_grid.exp().sum() * cell_area).item()
box_quadrature = box_masses(log_q_grid.exp() * cell_area, box_index)
inside = (samples.abs() < 3.0).all(1)
h_box = 6.0 / 8
sample_box = ((samples[inside] + 3.0) // h_box).long().clamp(0, 7)
box_frequency = torch.bincount(sample_box[:, 0] * 8 + sample_box[:, 1], minlength=64) / params.box_samples
box_stderr = torch.sqrt(box_quadrature * (1 - box_quadrature) / params.box_samples)
z_scores = (box_frequency - box_quadrature)[box_quadrature > 1e-4] / box_stderr[box_quadrature > 1e-4]
metrics["toy_box_max_z"] = z_scores.abs().max().item()
print(f"integral of q_theta on the square: {metrics['toy_flow_mass']:.3f}")
print(f"boxes with mass > 1e-4: {int((box_quadrature > 1e-4).sum())}; largest |z-score| below 4: "
      f"{metrics['toy_box_max_z'] < 4}")

# %%
save_figure(params, "flow_density_2d",
            plots.flow_density(axis.numpy(), log_q_grid.reshape(len(axis), -1).numpy(), moons_train.cpu().numpy(),
                               samples.numpy(), box_quadrature.numpy(), box_frequency.numpy(), box_stderr.numpy()),
            {"box_quadrature": box_quadrature.numpy(), "mass": np.array(metrics["toy_flow_mass"])})

# %% [markdown]
# The change-of-variables density sits on the two moons, and the box probabilities from quadrature lie on the
# diagonal with the sample frequencies, within their error bars. (The saved arrays for the regression test are
# the quadrature masses, deterministic given the trained flow; the sample frequencies are shown but not tested.)
#
# ## 3. The reduction, checked: importance weights on base samples against $e^{-r}/Z$
#
# Put an energy on this base and train it by KALE (base fixed) for a few hundred steps, so that $E$ corrects
# what the 2-D NVP gets wrong. Then compute the model two ways:
# - **as a GEBM**, through (1) only: draw $x_i=B_\theta(z_i)$ and give them self-normalised importance weights
#   $w_i\propto e^{-E(x_i)}$; the mass of a cell is $\sum_{x_i\in\text{cell}}w_i$; $\hat Z$ is the mean of
#   $e^{-E(x_i)}$;
# - **as an EBM**, through (2): $e^{-r}=q_\theta e^{-E}$ on the grid, normalised by quadrature ($Z$ on the grid).

# %%
torch.manual_seed(params.seed)
toy_model = ebm.EnergyOnBase(toy_flow, ebm.make_energy(2, 64)).to(dev)
toy_energy_fit = ebm.fit_energy(
    toy_model, moons_train, moons_val,
    ebm.EnergyFitConfig(method="kale", steps=params.toy_energy_steps, batch_size=256, n_base=512, lr=5e-3,
                        eval_every=50, eval_samples=4096),
    g_toy, log=log, checkpoint=checkpoint("toy_energy"))
print(f"validation NLL: NVP alone {toy_energy_fit.val_nll[0]:.2f}, with the KALE energy "
      f"{toy_energy_fit.best_val_nll:.2f}")

# %%
with torch.no_grad():
    energy_grid = toy_model.energy(grid.to(dev)).cpu()
    log_unnormalised = log_q_grid - energy_grid  # -r on the grid
    log_z_grid = (torch.logsumexp(log_unnormalised, 0) + math.log(cell_area)).item()
    cells_grid = box_masses(torch.exp(log_unnormalised - log_z_grid) * cell_area, box_index)
    x_base, _ = toy_model.base.sample(params.box_samples, g_toy)
    log_w = -toy_model.energy(x_base).cpu()
x_base = x_base.cpu()
log_z_weights = likelihood.log_mean_exp(log_w, 0).item()
weights = torch.softmax(log_w, 0)
inside = (x_base.abs() < 3.0).all(1)
base_box = ((x_base[inside] + 3.0) // h_box).long().clamp(0, 7)
cells_weights = torch.zeros(64, dtype=weights.dtype).index_add_(0, base_box[:, 0] * 8 + base_box[:, 1],
                                                                 weights[inside])
metrics["toy_log_z_gap"] = abs(log_z_weights - log_z_grid)
metrics["toy_cell_max_gap"] = (cells_weights - cells_grid).abs().max().item()
print(f"log Z: importance weights {log_z_weights:.2f}, grid {log_z_grid:.2f}; "
      f"ESS {likelihood.effective_sample_size(log_w):.0f} of {params.box_samples}")
print(f"largest cell-mass gap below 0.01: {metrics['toy_cell_max_gap'] < 0.01}   "
      f"total mass on the grid {float(torch.exp(log_unnormalised - log_z_grid).sum() * cell_area):.3f}")

# %%
save_figure(params, "gebm_reduction_2d",
            plots.gebm_reduction(axis.numpy(), log_q_grid.reshape(len(axis), -1).numpy(),
                                 energy_grid.reshape(len(axis), -1).numpy(),
                                 (log_unnormalised - log_z_grid).reshape(len(axis), -1).numpy(),
                                 cells_grid.numpy(), cells_weights.numpy()),
            {"cells_grid": cells_grid.numpy(), "log_z_grid": np.array(log_z_grid)})

# %% [markdown]
# The two computations agree: the GEBM, defined only through importance weights on its base's samples, and the
# EBM $e^{-r}/Z$ with $r=E-\log q_\theta$, are the same distribution, with the same $Z$ (cell masses within
# 0.01, the two $\log Z$ equal to two decimals). The energy is high where the base puts mass that the data do
# not have (right of centre, between the lower moon and the tip of the upper one) and the model density
# follows the moons more closely than the base's: validation NLL 1.33 for the NVP alone, 1.19 with the energy.
#
# ## 4. Test log-likelihood on tabular data: MLE, CD, DV, KALE
#
# For each dataset and seed: train the NVP by maximum likelihood (the "MLE" row), then, from the same NVP, an
# energy by each of the three objectives of (3), with the base fixed (the knob `train_base` trains it jointly:
# the GEBM generator step for KALE and DV, the CD gradient of $-\log q_\theta$ for CD). Every run keeps the
# state with the best validation NLL (early stopping; step 0 is the NVP alone, so an energy can only be kept if
# it helps on validation). The test NLL uses $\log\hat Z$ pooled over `log_z_repeats` importance-sampling
# repeats with the NVP as proposal; the spread of $\log\hat Z$ over repeats is reported.
#
# The `ci` dataset is scikit-learn's copy of the UCI wine recognition data (178 wines, 13 measurements;
# 106/36/36 rows for training/validation/test), standardised with the training statistics. It is **not** the
# paper's RedWine (1599 wines, 11 columns): the NLLs are in nats on a different dimension and scale and cannot
# be compared in absolute value with the paper's numbers; only the ordering of the methods can.
#
# A note on CD's settings: the Langevin negatives start at base draws, so with too short or too small steps
# they hardly leave the base, CD then pushes the energy down on the training rows against the base alone, and
# the energy overfits the 106 rows. In a trial with step size 0.01 and 10 steps, the validation NLL of CD
# climbed from 15.7 to above 20 within 300 steps (early stopping then keeps the NVP alone). The `ci` profile
# uses step size 0.1 and 20 steps, where the chains move and CD improves on the NVP.

# %%
def energy_config(method):
    return ebm.EnergyFitConfig(
        method=method, steps=params.energy_steps, batch_size=params.batch_size,
        n_base=params.cd_negatives if method == "cd" else params.n_base, lr=params.energy_lr,
        train_base=params.train_base, langevin_steps=params.langevin_steps,
        langevin_step_size=params.langevin_step_size, eval_every=params.eval_every,
        eval_samples=params.eval_samples, checkpoint_every=params.checkpoint_every)


def run_dataset(splits, seed):
    """Train the NVP and the three energies on one dataset with one seed; return test NLLs, log Z spreads, models
    and validation curves."""
    g = torch_generator(seed, dev)
    train, val, test = splits.train.to(dev), splits.val.to(dev), splits.test.to(dev)
    torch.manual_seed(seed)
    flow = RealNVP(splits.dim, params.flow_layers, params.flow_hidden).to(dev)
    log.prefix = f"{splits.name} seed {seed} flow: "
    fit_flow(flow, train, val, FlowFitConfig(params.flow_steps, params.batch_size, params.flow_lr,
                                             eval_every=params.eval_every, checkpoint_every=params.checkpoint_every),
             g, log=log, checkpoint=checkpoint(f"{splits.name}_{seed}_flow"))
    nll, log_z_std, models, curves = {"mle": mean_nll(flow, test)}, {}, {}, {}
    for method in ("cd", "dv", "kale"):
        torch.manual_seed(seed)
        model = ebm.EnergyOnBase(copy.deepcopy(flow), ebm.make_energy(splits.dim, params.energy_hidden)).to(dev)
        log.prefix = f"{splits.name} seed {seed} {method}: "
        fit = ebm.fit_energy(model, train, val, energy_config(method), g, log=log,
                             checkpoint=checkpoint(f"{splits.name}_{seed}_{method}"))
        nll[method], estimate = ebm.heldout_nll(model, test, params.log_z_samples, params.log_z_repeats,
                                                torch_generator(10_000 + seed, dev))
        log_z_std[method], models[method] = estimate.std, model
        curves[method] = (np.array(fit.eval_steps), np.array(fit.val_nll))
    return nll, log_z_std, models, curves


METHODS = ("mle", "cd", "dv", "kale")
results = {}
for name in dataset_names:
    splits = tabular.load(name)
    runs = [run_dataset(splits, params.seed + s) for s in range(params.n_seeds)]
    nll = np.array([[run[0][m] for run in runs] for m in METHODS])  # (methods, seeds)
    log_z_std = np.array([[run[1][m] for run in runs] for m in METHODS[1:]])
    results[name] = {"splits": splits, "nll": nll, "log_z_std": log_z_std, "runs": runs}
    gaussian = torch.distributions.MultivariateNormal(splits.train.mean(0), torch.cov(splits.train.T, correction=0))
    results[name]["gaussian"] = -gaussian.log_prob(splits.test).mean().item()
    for m, row in zip(METHODS, nll, strict=True):
        metrics[f"nll_{m}_{name}"] = float(row.mean())
        metrics[f"nll_{m}_{name}_std"] = float(row.std(ddof=1)) if row.size > 1 else 0.0
    print(f"{name} (d = {splits.dim}; {splits.train.shape[0]}/{splits.val.shape[0]}/{splits.test.shape[0]} rows), "
          f"test NLL over {params.n_seeds} seeds, mean ± std:")
    for m, row in zip(METHODS, nll, strict=True):
        print(f"  {m:5s} {row.mean():6.2f} ± {row.std(ddof=1) if row.size > 1 else 0.0:.2f}   "
              f"seeds: " + " ".join(f"{v:.2f}" for v in row))
    print(f"  Gaussian fitted to the training set: {results[name]['gaussian']:.2f}")
    print(f"  largest std of log Z over repeats: {log_z_std.max():.3f} (moves the NLL one for one)")

# %%
first = dataset_names[0]
save_figure(params, "nll_table",
            plots.nll_by_method([m.upper() if m != "kale" else "KALE" for m in METHODS], results[first]["nll"],
                                results[first]["gaussian"], "Gaussian fitted to the training set"),
            {"nll_mean": results[first]["nll"].mean(1), "nll_std": results[first]["nll"].std(1)})

# %% [markdown]
# The validation curves of the first seed show how each objective moves the held-out likelihood away from the
# NVP alone (step 0):

# %%
curves = results[first]["runs"][0][3]
plots.energy_training_curves([curves[m][0] for m in ("cd", "dv", "kale")], [curves[m][1] for m in ("cd", "dv", "kale")],
                             ["CD", "DV", "KALE"])

# %% [markdown]
# **Does the ordering KALE < DV < CD reproduce?** The paper's chart (RedWine: CD 12.40, DV 12.20, KALE 11.90,
# MLE 12.14) has KALE best and CD worst, with KALE the only energy that beats the NVP alone. Here, on the
# `ci` dataset:

# %%
for name, result in results.items():
    mean = dict(zip(METHODS, result["nll"].mean(1), strict=True))
    spread = max(result["nll"].std(1, ddof=1)) if params.n_seeds > 1 else 0.0
    print(f"{name}: KALE < DV: {bool(mean['kale'] < mean['dv'])}   DV < CD: {bool(mean['dv'] < mean['cd'])}   "
          f"KALE < MLE: {bool(mean['kale'] < mean['mle'])}   "
          f"KALE - DV = {mean['kale'] - mean['dv']:+.2f} nats against a seed spread of {spread:.2f}")

# %% [markdown]
# **Finding.** In the mean over seeds the ordering KALE < DV < CD holds, but KALE and DV are tied (15.42 against
# 15.43, a gap of 0.01 nats against a seed spread of 0.3-0.45; seed by seed each wins once, and the third seed is a
# tie to two decimals); CD is worse than both on every seed, by 0.03 to 0.30 nats. Unlike the paper's RedWine chart,
# where only KALE beats the NVP alone and CD and DV are worse than it, here **all three energies improve on the NVP**
# (by 0.5-0.7 nats), which on 106 training rows overfits (it is even worse than a Gaussian fitted to the training set,
# 15.90); the energies, selected on validation, repair part of that. With 256 base draws per step the Donsker-Varadhan
# minibatch bias is small, which is consistent with DV matching KALE here; the paper's gap between them may need
# smaller batches or its larger datasets and longer training to appear (the `full` profile runs them).
#
# ## 5. Is importance sampling with the NVP proposal enough? A check by annealed importance sampling
#
# The importance-sampling estimate of $\log Z$ is trustworthy when the weights $e^{-E(x_i)}$ are not dominated
# by a few draws: its spread over repeats and the effective sample size say so. As an independent check,
# estimate $\log Z$ for the KALE model of the first seed again by AIS (annealing $\eta(z)e^{-\beta E(B(z))}$
# from $\beta=0$ to 1 in the latent space, one MALA move per temperature), with the same number of repeats.

# %%
kale_model = results[first]["runs"][0][2]["kale"]
g_ais = torch_generator(20_000 + params.seed, dev)
with torch.no_grad():
    is_estimate = kale_model.log_z(params.ais_chains, params.log_z_repeats, g_ais)
ais_estimate = likelihood.ais_log_z(lambda z: kale_model.energy(kale_model.base.generate(z)[0]), kale_model.base.dim,
                                    params.ais_chains, params.log_z_repeats, params.ais_temperatures,
                                    params.ais_step_size, g_ais, device=dev)
big_is = kale_model.log_z(params.log_z_samples, params.log_z_repeats, g_ais)
print(f"{params.ais_chains} draws per repeat: IS log Z {is_estimate.mean:.3f} ± {is_estimate.std:.3f} "
      f"(ESS {is_estimate.ess / params.ais_chains:.0%} of the draws)")
print(f"{params.ais_chains} chains per repeat: AIS log Z {ais_estimate.mean:.3f} ± {ais_estimate.std:.3f}")
print(f"{params.log_z_samples} draws per repeat (the test NLL's): IS log Z {big_is.mean:.3f} ± {big_is.std:.3f}")
metrics["log_z_is_std"] = big_is.std
metrics["log_z_ais_minus_is"] = ais_estimate.pooled - big_is.pooled

# %%
save_figure(params, "log_z_spread",
            plots.log_z_spread([f"IS, n={params.ais_chains}", f"AIS, n={params.ais_chains}",
                                f"IS, n={params.log_z_samples}"],
                               [is_estimate.estimates, ais_estimate.estimates, big_is.estimates]),
            {"means": np.array([is_estimate.mean, ais_estimate.mean, big_is.mean]),
             "stds": np.array([is_estimate.std, ais_estimate.std, big_is.std])})

# %% [markdown]
# ## Recap
#
# - A GEBM is defined through $dQ_{B,E}/dQ_\theta=e^{-E}/Z$; when the base is a Real NVP its law has the
#   change-of-variables density $q_\theta$ and the GEBM is the EBM $e^{-r}/Z$ with $r=E-\log q_\theta$.
#   On the 2-D toy, importance weights on base samples and $e^{-r}$ normalised on a grid gave the same cell
#   masses and the same $\log Z$.
# - The NVP's density (4) integrates to 1 on the grid, its log-determinant matches autograd, its inverse
#   inverts, and its box probabilities match its own samples' frequencies.
# - KALE, Donsker-Varadhan and contrastive divergence share their population optimum (3) and differ as
#   estimators. On the `ci` wine data (13-d, not comparable in absolute value with the paper's RedWine
#   numbers), test NLL over 3 seeds: NVP alone 16.11, CD 15.57, DV 15.43, KALE 15.42. The paper's ordering
#   KALE < DV < CD holds in the mean, but KALE and DV are tied within the seed spread; all three energies beat
#   the NVP alone here, which differs from the paper's chart (there CD and DV were worse than MLE).
# - $\log Z$ by importance sampling with the NVP as proposal has a small spread here (std 0.014 over repeats of
#   4096 draws, so the NLL table is not limited by it), and AIS agrees with it within one standard deviation;
#   with only 256 draws, plain importance sampling is visibly biased low and noisier, as Jensen predicts.

# %%
recorded = record_metrics(params, metrics)  # not displayed: its floats carry unstable trailing digits
for key in ("toy_flow_mass", "toy_log_z_gap", "toy_cell_max_gap"):
    print(f"{key:24s} {metrics[key]:.3f}")
for name in dataset_names:
    print(name, "  ".join(f"{m} {metrics[f'nll_{m}_{name}']:.2f}" for m in METHODS))
