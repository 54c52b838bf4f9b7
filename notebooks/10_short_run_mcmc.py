# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
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
# # 10 · Short-run MCMC and maximum-likelihood EBMs: convergent against non-convergent learning
#
# **Derives** (seed 002: Nijkamp, Hill, Han, Zhu & Wu, *On the anatomy of MCMC-based maximum likelihood learning
# of energy-based models*, AAAI 2020, arXiv 1903.12370): what the maximum-likelihood gradient becomes when its
# model expectation is taken on short-run Langevin samples; the paper's two axes of learning outcomes (the energy
# difference between data and samples, and whether the MCMC converges), shown on 2-D toys whose learned density
# this notebook normalises exactly on a grid; the diagnostics $d_t$ and $r_t$ and the oscillation of $d_t$; and
# the oversaturated long-run samples of a non-convergent image EBM. Every claim is decided over training seeds by
# a criterion fixed before the runs; where it does not show at this scale the notebook says so with the numbers.
#
# Re-run with other settings: `papermill notebooks/10_short_run_mcmc.ipynb out.ipynb -p n_seeds 5`, or
# `python -m latentebm.reporting --only 10 -p convergent_iterations=3000`.

# %% tags=["parameters"]
profile = "ci"  # "ci": CPU, minutes; "full": paper scale
seed = 0
device = "auto"  # "auto" | "cpu" | "cuda"
output_dir = "build/ci"  # relative paths resolve from the repository root
# knobs below: None takes the profile's value (see latentebm/catalogue/nb10_short_run_mcmc.py)
n_seeds = None
rings = None
convergent_iterations = None
nonconvergent_iterations = None
toy_langevin_steps = None
image_iterations = None
image_langevin_steps = None
eval_samples = None
long_steps = None
grid_cells = None
mmd_bandwidth = None
max_lag = None
classifier_steps = None
convergent_images = None
workers = None

# %%
from latentebm.parameters import configure

params = configure("10_short_run_mcmc", globals())
print(params.profile, params.device, params.knobs)

# %%
from functools import partial

import numpy as np
from latentebm.experiments import ml_ebms, parallel
from latentebm.metrics.frechet import FrechetScorer
from latentebm.metrics.learning_diagnostics import autocorrelation, mean_standard_error
from latentebm.plotting import ml_ebms as plots
from latentebm.reporting import record_claim, save_figure, show_metrics

dev = params.device
metrics = {}
log_path = params.output_dir / "logs" / f"{params.notebook}.training.log"
log_path.unlink(missing_ok=True)

# %% [markdown]
# ## 1. The ML gradient, and what short-run samples make of it
#
# An EBM $p_\theta(x)=e^{-U_\theta(x)}/Z(\theta)$ with $Z(\theta)=\int e^{-U_\theta}dx$ has the mean negative
# log-likelihood $L(\theta)=\mathbb E_{\text{data}}[U_\theta(X)]+\log Z(\theta)$, and since
# $\nabla_\theta\log Z=-\int\nabla_\theta U_\theta\,e^{-U_\theta}dx/Z
# =-\mathbb E_{p_\theta}[\nabla_\theta U_\theta]$,
# $$\nabla_\theta L=\mathbb E_{\text{data}}[\nabla_\theta U_\theta(X)]
#   -\mathbb E_{p_\theta}[\nabla_\theta U_\theta(Y)] .$$
# This is the gradient of the loss $d=\frac1n\sum_i U_\theta(x_i)-\frac1m\sum_j U_\theta(y_j)$ when the $y_j$ are
# held fixed and drawn from $p_\theta$: the energy difference between data and samples, which the paper records as
# its first diagnostic $d_t$. A unit test checks it on a Gaussian family, where
# $\mathbb E_{p_\theta}$ is known in closed form.
#
# In practice the $y_j$ come from $L$ steps of Langevin dynamics started from noise (or from a persistent bank),
# not from $p_\theta$. A fixed point of the update then equates $\mathbb E[\nabla_\theta U_\theta]$ under the data and
# under the short-run distribution $s_\theta$, whatever $p_\theta$ is; since $U_\theta$ is linear in the weights of
# its last layer, this makes the data and the short-run samples equal in mean energy ($d=0$). Learning shapes
# $U_\theta$ so that the short-run sampler is a good generator; nothing forces $e^{-U_\theta}/Z$ to be close to the
# data. Whether it is depends on the MCMC: if the chains used in learning mix (persistent chains with enough
# noise), the fixed point is near the ML estimate ("convergent" learning); if they are short and nearly noiseless,
# $s_\theta$ and $p_\theta$ can be very different ("non-convergent" learning).
#
# **The rescaling.** The network outputs $F_\theta$ and $U_\theta=F_\theta/(\varepsilon^2/2)$. Langevin on $U$ with
# step $h=\varepsilon^2/2$ is then $x\leftarrow x-h\nabla U(x)+\sqrt{2h}\,\xi=x-\nabla F(x)+\varepsilon\xi$: the
# authors' step, with noise $\varepsilon$ and drift $\nabla F$, whose mean length along the chains is the second
# diagnostic $r_t$. The learned density is $p_\theta\propto e^{-2F_\theta/\varepsilon^2}$: at $\varepsilon=0.01$
# the non-convergent recipe's temperature is $5\cdot10^{-5}$. SGD's learning rate is multiplied by $\varepsilon^2/2$
# so that its steps on $F$ do not depend on $\varepsilon$.
#
# ## 2. The two recipes on 2-D toys
#
# The authors' toys: eight Gaussians (sd 0.15) on the unit circle, and concentric rings of radii $1,2,\dots$ with
# radial sd 0.15, both with closed-form densities. The authors' network, an MLP 2-32-64-64-64-1 with
# LeakyReLU(0.05), and their two recipes (`latentebm.experiments.ml_ebms`):
#
# | | convergent | non-convergent |
# |---|---|---|
# | negatives | persistent bank, uniform on $[-1,1]^2$ at the start | fresh $N(0,I)$ noise every update |
# | $\varepsilon$ | 0.125 | 0.01 |
# | optimiser | SGD | Adam |
# | authors | lr 0.1, $L=500$, bank 10k, 200k updates | lr $10^{-4}$, $L=100$, 100k updates |
# | `ci` here | lr 1.0, $L=50$, bank 2000, 1000 updates | lr $3\cdot10^{-4}$, $L=50$, 1000 updates |
#
# `ci` is two to three orders of magnitude short of the authors' compute, so its learning rates are higher (their
# rates barely move the networks in 1,000 updates) and the rings toy has 2 rings instead of 4. Every (toy, seed)
# pair is one member of a batched ensemble of independent networks (each member gets only its own loss's
# gradient; `latentebm.models.ensembles`); the convergent run, the non-convergent run and the image run of
# section 4 train side by side in `workers` processes, one thread each. Progress goes to
# `<output_dir>/logs/10_short_run_mcmc.training.log`.

# %%
knobs = {"seeds": params.n_seeds, "rings": params.rings, "langevin_steps": params.toy_langevin_steps or None}
recipes = {"convergent": ml_ebms.toy_recipe(params.profile, "convergent", iterations=params.convergent_iterations,
                                            **knobs),
           "nonconvergent": ml_ebms.toy_recipe(params.profile, "nonconvergent",
                                               iterations=params.nonconvergent_iterations, **knobs)}
image_recipes = {"nonconvergent": ml_ebms.image_recipe(params.profile, "nonconvergent", seeds=params.n_seeds,
                                                       iterations=params.image_iterations,
                                                       langevin_steps=params.image_langevin_steps)}
if params.convergent_images:  # the authors' convergent MNIST recipe, as it is (full profile)
    image_recipes["convergent"] = ml_ebms.image_recipe(params.profile, "convergent", seeds=params.n_seeds)
image_recipe = image_recipes["nonconvergent"]
jobs = [partial(ml_ebms.train_job, r, params.streams, params.output_dir, dev, log_path)
        for r in (*image_recipes.values(), recipes["convergent"], recipes["nonconvergent"])]
parallel.train_all(jobs, params.workers, dev)
runs = {name: ml_ebms.train_or_load_ebm(r, params.streams, params.output_dir, dev) for name, r in recipes.items()}
toys = recipes["convergent"].toys
S = recipes["convergent"].seeds
print(f"trained or loaded: {len(jobs)} runs, {sum(r.members for r in recipes.values())} toy networks "
      f"({len(toys)} toys x {S} seeds x 2 recipes) and {len(image_recipes) * image_recipe.members} image networks "
      f"({', '.join(image_recipes)})")

# %% [markdown]
# **Evaluation.** For each member: the grid KL$(\text{data}\,\|\,p_\theta)$, with $p_\theta$ normalised on the
# toy's plotting square (`grid_cells`$^2$ cells; a unit test checks the normaliser against a Gaussian); and the
# squared MMD (Gaussian kernel of bandwidth `mmd_bandwidth`, V-statistic) to a fresh data sample of
# `eval_samples` points, of as many samples or chains: (a) short-run samples from the training sampler (for the
# convergent run: states of its bank run $L$ more steps, the bank left as it was), (b) long-run chains started
# from data and (c) from the recipe's noise, `long_steps` steps at the training step size (the authors run 100k
# steps from data); (d) the same long run from data with a Metropolis test at every step (MALA at the training
# step, whose stationary law is exactly $p_\theta$); and (e) exact draws from the grid-normalised $p_\theta$, no
# MCMC at all. The floor is the MMD$^2$ between two independent data samples of the same size.

# %%
results, grids, log_model, log_data = {}, {}, {}, {}
for name in recipes:
    results[name], grids[name], log_model[name], log_data[name] = ml_ebms.toy_evaluation(
        runs[name], recipes[name], params.eval_samples, params.long_steps, params.grid_cells, params.mmd_bandwidth,
        params.streams.child("evaluate", name), params.streams.child("exact", name))
toy_names = [toy.kind for toy in toys]
for name, res in results.items():
    for t, toy in enumerate(toy_names):
        sl = slice(t * S, (t + 1) * S)
        med = {key: np.median(res[key][sl]) for key in ("kl", "short", "long", "long_noise", "long_mala", "exact",
                                                        "acceptance", "floor")}
        print(f"{name:14s} {toy:5s} grid KL {med['kl']:.2g};  MMD^2 to data: short-run {med['short']:.1e}, long-run "
              f"from data {med['long']:.1e}, from noise {med['long_noise']:.1e}\n{'':21s}MALA from data "
              f"{med['long_mala']:.1e} (acceptance {med['acceptance']:.2f}), exact p_theta {med['exact']:.1e}, "
              f"floor {med['floor']:.0e}   (medians over seeds)")

# %%
conv, nonconv = results["convergent"], results["nonconvergent"]
floor = np.maximum(conv["floor"], nonconv["floor"])
record_claim(metrics, "short_run_as_good", nonconv["short"] <= 2 * np.maximum(conv["short"], floor))
record_claim(metrics, "density_far_worse", nonconv["kl"] > 10 * conv["kl"])
record_claim(metrics, "nonconvergent_long_run_drifts", nonconv["long"] > 2 * np.maximum(nonconv["short"], floor))
record_claim(metrics, "convergent_long_run_stays", conv["long"] <= 2 * np.maximum(conv["short"], floor))
for name, res in results.items():
    for t, toy in enumerate(toy_names):
        for key, label in (("kl", "kl"), ("short", "mmd_short"), ("long", "mmd_long")):
            metrics[f"{label}_{name}_{toy}"] = float(np.median(res[key][t * S:(t + 1) * S]))
    metrics[f"mmd_short_{name}"] = float(np.median(res["short"]))
    metrics[f"mmd_long_{name}"] = float(np.median(res["long"]))
    metrics[f"mmd_long_noise_{name}"] = float(np.median(res["long_noise"]))
    metrics[f"mmd_exact_{name}"] = float(np.median(res["exact"]))
    metrics[f"mmd_long_mala_{name}"] = float(np.median(res["long_mala"]))
    metrics[f"mala_acceptance_{name}"] = float(np.median(res["acceptance"]))
metrics["mmd_floor"] = float(np.median(floor))
for key in ("short_run_as_good", "density_far_worse", "nonconvergent_long_run_drifts", "convergent_long_run_stays"):
    print(f"{key}: holds on {metrics[key + '_holds']} of {metrics[key + '_seeds']} (toy, seed) pairs")
rings_toy = toys[1]
inner = ml_ebms.inner_ring_share(grids["convergent"][1], log_model["convergent"][S:], rings_toy)
metrics["inner_ring_share_convergent"] = float(np.median(inner))
print(f"convergent model, rings: share of its mass on the inner ring (nearer it than the next), median "
      f"{np.median(inner):.2f} (data: {1 / rings_toy.groups:.2f})")

# %%
rows, arrays = [], {}
for name in recipes:
    for t, toy in enumerate(toys):
        m, cells = t * S, params.grid_cells  # seed 0 of toy t
        row = {"title": f"{name}\n{toy.kind}", "extent": toy.extent,
               "log_density": log_model[name][m].reshape(cells, cells).numpy(),
               "log_data": log_data[name][m].reshape(cells, cells).numpy(),
               "short": results[name]["short_x"][m].numpy(), "long": results[name]["long_x"][m].numpy(),
               "long_noise": results[name]["long_noise_x"][m].numpy()}
        rows.append(row)
        arrays.update({f"{name}_{toy.kind}_{k}": np.asarray(row[k], dtype=np.float32)[:200]
                       for k in ("short", "long", "long_noise")})
        arrays[f"{name}_{toy.kind}_log_density"] = row["log_density"][::5, ::5].astype(np.float32)
save_figure(params, "toy_densities", plots.toy_panels(rows), arrays)

# %% [markdown]
# **Reading.** On every (toy, seed) pair the non-convergent model shows the paper's picture. Its short-run samples
# are as close to the data as the convergent model's (median MMD$^2$ $6.0$ and $5.0\cdot10^{-3}$ on the two toys,
# against $6.6$ and $8.7\cdot10^{-3}$; two data samples are $3$-$4\cdot10^{-3}$ apart). Its density is nothing
# like the data's: grid KL of about 28 nats (8 Gaussians) and 170 (rings), against 0.2 and 0.5 for the convergent
# model, its mass in a few sharp spikes (the log-density panels), beyond the outer ring on the rings toy. Its
# long-run chains, from data or from noise, leave the short-run picture within 1,500 steps: they collapse onto
# points inside each Gaussian, or drift out past the outer ring, 6 and 20 times the short-run MMD$^2$. MALA at the
# training step accepts about 97% of these moves, so the drift belongs to $p_\theta$ and is no discretisation
# artefact. Exact draws of $p_\theta$ are further still (MMD$^2$ 0.6-0.9): in 1,500 steps the chains have not
# yet reached the spikes that hold its mass.
#
# **The convergent side holds only in part at this scale** (`convergent_long_run_stays`: 4 of 6 pairs, mixed).
# Its long-run chains stay on the data's support, and they are closer to the data than the non-convergent model's
# (1.7 times on the 8 Gaussians, 10 times on the rings). On the rings they are about as good as its short-run
# samples (MMD$^2$ $1.0\cdot10^{-2}$ against $8.7\cdot10^{-3}$). On the 8 Gaussians they are worse: $2.1\cdot
# 10^{-2}$ against $6.6\cdot10^{-3}$ for the median pair. The chains are not at fault there. ULA from data, ULA from
# noise, MALA and exact draws of the grid-normalised $p_\theta$ agree ($1.2$-$2.1\cdot10^{-2}$), so the long-run
# chains do sample $p_\theta$. What is off is the density itself: its modes carry unequal mass (the brighter mode
# of the first panel). The rings' mass is split about right (44% on the inner ring, against the data's 50%).
# After 1,000 updates the persistent samples have come closer to the data than the density has. The authors train
# for 200k updates with 500-step chains and a bank of 10k; whether that closes the gap is what the `full` profile
# tests.

# %% [markdown]
# ## 3. The diagnostics: $d_t$, $r_t$ and the oscillation of $d_t$
#
# $d_t$ is recorded at every update in $U$ units, $r_t$ as the mean drift $|\nabla F|$ per Langevin step (compare
# with the noise $\varepsilon$ of a step). The paper: $d_t$ oscillates around 0 in every stable run. Every update
# lowers the data's energy and raises the samples', whatever the sign of $d_t$; the next samples then slide down
# to the new low-energy regions, and the two effects balance around $d_t=0$. Also: $r_t$ settles; with small-rate
# SGD the oscillation is weak (no autocorrelation of $d_t$), with Adam or a high SGD rate it is strong (a negative
# autocorrelation at short lags); and the authors' appendix ties weak oscillation to convergent learning. Our SGD
# rate is ten times the authors' (section 2), so the convergent run is not the small-rate case. The statistics are
# taken over the second half of each run; "around 0" is judged against the standard error of the mean $d_t$,
# widened for its lag-1 autocorrelation by $\sqrt{(1+\rho_1)/(1-\rho_1)}$, so that a steady offset shows.

# %%
diag = {}
for name, trained in runs.items():
    d, r = np.array(trained.info["d"]), np.array(trained.info["r"])
    half, tenth = d.shape[0] // 2, max(d.shape[0] // 10, 1)
    late = d[half:]
    acf = autocorrelation(late, params.max_lag)
    standard_error = mean_standard_error(late, acf[1])
    settle = np.abs(r[-tenth:].mean(0) / r[half:half + tenth].mean(0) - 1)  # last 10% against updates 50-60%
    diag[name] = {"d": d, "r": r, "acf": acf, "mean_over_sd": late.mean(0) / late.std(0),
                  "mean_over_se": late.mean(0) / standard_error, "settle": settle}
    metrics[f"d_mean_over_sd_{name}"] = float(np.median(diag[name]["mean_over_sd"]))
    metrics[f"d_mean_over_se_{name}"] = float(np.median(diag[name]["mean_over_se"]))
    metrics[f"lag1_{name}"] = float(np.median(acf[1]))
    metrics[f"r_final_{name}"] = float(np.median(r[-tenth:].mean(0)))
    print(f"{name:14s} mean d / sd d: median {np.median(diag[name]['mean_over_sd']):+.1f}, mean d / its standard "
          f"error: {np.median(diag[name]['mean_over_se']):+.0f} ({diag[name]['mean_over_se'].min():+.0f} to "
          f"{diag[name]['mean_over_se'].max():+.0f});  r_t, last 10% / updates 50-60%: median "
          f"{np.median(r[-tenth:].mean(0) / r[half:half + tenth].mean(0)):.2f}")
    print(f"{'':14s} lag-1 "
          f"autocorrelation of d: median {np.median(acf[1]):+.2f} (range {acf[1].min():+.1f} to {acf[1].max():+.1f});"
          f"  r_t at the end: median {metrics[f'r_final_{name}']:.1g} (eps = {recipes[name].train.epsilon:g})")
both = lambda key: np.concatenate([diag[n][key] for n in recipes])  # noqa: E731
record_claim(metrics, "d_around_zero", np.abs(both("mean_over_se")) < 3)
record_claim(metrics, "r_settles", both("settle") < 0.15)
record_claim(metrics, "sgd_weak_oscillation", np.abs(diag["convergent"]["acf"][1]) < 0.1)
record_claim(metrics, "adam_strong_oscillation", (diag["nonconvergent"]["acf"][1] < 0)
             & (diag["nonconvergent"]["acf"][1] < diag["convergent"]["acf"][1]))
for key in ("d_around_zero", "r_settles", "sgd_weak_oscillation", "adam_strong_oscillation"):
    print(f"{key}: holds on {metrics[key + '_holds']} of {metrics[key + '_seeds']}")

# %%
figure = plots.learning_diagnostics({n: diag[n]["d"][:, 0] for n in recipes}, {n: diag[n]["r"][:, 0] for n in recipes},
                                    {n: diag[n]["acf"] for n in recipes})
save_figure(params, "diagnostics", figure, {**{f"{n}_d": diag[n]["d"][:, 0] for n in recipes},
                                            **{f"{n}_r": diag[n]["r"][:, 0] for n in recipes},
                                            **{f"{n}_acf": diag[n]["acf"] for n in recipes}})

# %% [markdown]
# **Reading.** $d_t$ oscillates with an amplitude far larger than its mean in both runs (median mean/sd $+0.1$
# and $+0.3$), as in the paper's plots. Judged against its standard error, though, only the convergent run's
# oscillation is centred near 0: its mean $d_t$ lies within 3 standard errors of 0 on 4 of 6 pairs (median $+2$).
# The non-convergent run's $d_t$ carries a steady positive offset, 5 to 7 standard errors on every pair: on
# average its short-run samples sit slightly below the data in energy (`d_around_zero`: 4 of 12, mixed).
# $r_t$ has settled in the non-convergent run, where the drift per step stays just under the noise (0.008 against
# $\varepsilon=0.01$; last tenth / updates 500-600: 0.99). It has not settled in the convergent run, which is
# still rising after 1,000 updates (ratio 1.34, at about half its noise: 0.06 against $\varepsilon=0.125$)
# (`r_settles`: 8 of 12, mixed).
#
# The oscillation follows the paper's reading only on the SGD side. With SGD the lag-1 autocorrelation of $d_t$ is
# near 0 (median $+0.01$, within 0.1 on 5 of 6 pairs), even at ten times the authors' rate. With Adam it is
# positive, not negative: median $+0.10$, where the standard error of a lag-1 estimate over 500 updates is about
# 0.045. So **"Adam gives strong, negatively autocorrelated oscillation" is not reproduced** (1 of 6). Our Adam
# run is short (1,000 updates at $3\cdot10^{-4}$; the authors ran 100k at $10^{-4}$). At this scale the density
# and the long-run chains tell the two regimes apart; the autocorrelation of $d_t$ does not.

# %% [markdown]
# ## 4. Images: short-run digits and oversaturated long-run chains
#
# The non-convergent image recipe of the authors (Adam $10^{-4}$, $\varepsilon=0.01$, uniform noise start, data
# noise $3\cdot10^{-2}$) on scikit-learn's 8x8 digits, with an MLP energy 64-256-256-1, 600 updates of $L=25$ steps
# and Adam $3\cdot10^{-4}$ in `ci`. The FD is the Fréchet distance on the penultimate features of a small
# classifier trained on the digits (not Inception's: not comparable with an FID), computed on images clipped to the
# display range $[-1,1]$. A generator that knows only the data's mean and covariance (a fitted Gaussian) is the
# baseline a short-run sampler "producing digits" should beat. The long run starts from data and takes
# `long_steps` steps at the training step.

# %%
x_digits = ml_ebms.images(image_recipe.dataset)[0]
classifier = ml_ebms.feature_classifier(image_recipe.dataset, params.classifier_steps, params.streams,
                                        params.output_dir, dev)
scorer = FrechetScorer([classifier], x_digits.to(dev))
rng = params.streams.child("evaluate", "images").torch()
image_runs = {o: ml_ebms.train_or_load_ebm(r, params.streams, params.output_dir, dev) for o, r in image_recipes.items()}
image_results = {o: ml_ebms.image_evaluation(image_runs[o], r, scorer, params.eval_samples, params.long_steps, rng,
                                             params.long_steps // 10) for o, r in image_recipes.items()}
shape = tuple(x_digits.shape[1:])
fd_gaussian = scorer(ml_ebms.gaussian_fit_samples(x_digits.flatten(1), params.eval_samples, rng).reshape(-1, *shape)
                     .to(dev))[0]
res = image_results["nonconvergent"]
fd_short, fd_long, u_data, u_end = res["fd_short"], res["fd_long"], res["u_data"], res["u_end"]
record_claim(metrics, "short_run_digits", fd_short < fd_gaussian)
record_claim(metrics, "oversaturation", (u_end < u_data) & (fd_long[-1] > 2 * fd_short))
metrics.update(fd_short_run=float(np.median(fd_short)), fd_gaussian=float(fd_gaussian),
               fd_long_run=float(np.median(fd_long[-1])), u_long_minus_data=float(np.median(u_end - u_data)),
               saturated_share=float(np.median(res["saturated"])))
print(f"FD of short-run digits: median {np.median(fd_short):.2g}; of the fitted Gaussian's samples {fd_gaussian:.2g}; "
      f"below it on {metrics['short_run_digits_holds']} of {len(fd_short)} seeds")
print(f"long run from data, {params.long_steps} steps: mean U falls below the data's on {int((u_end < u_data).sum())} "
      f"of {len(fd_short)} seeds; FD {np.median(fd_long[0]):.2g} at the start, {np.median(fd_long[-1]):.2g} at the end "
      f"(median); pixels at |x| >= 1: {100 * np.median(res['saturated']):.0f}%")
print(f"mean U along the long run (median over seeds): data {np.median(u_data):.2g}, "
      + ", ".join(f"step {k} {np.median(u):.2g}" for k, u in zip(res["chains"]["steps"][1:4], res["chains"]["u"][1:4],
                                                                 strict=True)) + f", end {np.median(u_end):.2g}")
if "convergent" in image_results:  # the full profile: the authors' convergent MNIST recipe
    conv_img = image_results["convergent"]
    record_claim(metrics, "convergent_long_run_digits", conv_img["fd_long"][-1] <= 2 * conv_img["fd_short"])
    metrics.update(fd_short_run_convergent=float(np.median(conv_img["fd_short"])),
                   fd_long_run_convergent=float(np.median(conv_img["fd_long"][-1])))
    print(f"convergent image model: FD short-run {metrics['fd_short_run_convergent']:.2g}, after the long run "
          f"{metrics['fd_long_run_convergent']:.2g}")

# %%
chains, short_digits = res["chains"], res["short"]
figure = plots.digit_panels(short_digits[0, :32].reshape(-1, *shape[1:]).cpu().numpy(),
                            chains["x"][0, :32].reshape(-1, *shape[1:]).cpu().numpy(), chains["steps"],
                            chains["u"][:, 0], float(u_data[0]), fd_long[:, 0], float(fd_short[0]))
save_figure(params, "digits", figure, {"short": short_digits[0, :32].cpu().numpy(), "steps": chains["steps"],
                                       "u_long": chains["u"][:, 0], "fd_long": fd_long[:, 0]})

# %% [markdown]
# **Reading.** Short-run digits from uniform noise are noisy but recognisable (left). Their FD is 34, against 56
# for the fitted Gaussian (below it on 3 of 3 seeds), and far from the 2.3 of the data at the long run's start.
# So "produces digits" holds against this weak baseline only, after 600 updates of an MLP. The long run from data
# shows the oversaturation on every seed. In the first 150 steps the mean energy falls five times below the
# data's ($-1.4\cdot10^5$ against $-2.6\cdot10^4$), and it keeps falling, to $-1.2\cdot10^6$ after 1,500 steps.
# The pixels run to the ends of the range (99% at $|x|\ge1$), and the FD rises from 2.3 to 95, three times the
# short-run samples'. The energy is piecewise linear in $x$ (LeakyReLU) and unbounded below, so nothing stops the
# chains: the extreme form of the paper's oversaturated long-run images. No convergent image model is trained in
# `ci`. The authors' MNIST recipe (a persistent bank, 500 steps per update) is the `full` profile's
# (`convergent_images`), with its claim that long-run samples stay digit-like.
#
# ## Recap
#
# | claim (paper) | criterion | `ci` |
# |---|---|---|
# | non-convergent short-run samples as good as convergent | MMD$^2$ within $2\times$ | 6 of 6 |
# | non-convergent density far worse | grid KL $>10\times$ | 6 of 6 (28 and 170 nats against 0.2 and 0.5) |
# | non-convergent long-run chains drift away | MMD$^2$ $>2\times$ its short-run | 6 of 6 |
# | convergent long-run samples as good as short-run | MMD$^2$ $\le2\times$ | 4 of 6 (mixed): the density lags |
# | $d_t$ oscillates around 0 | mean within 3 standard errors | 4 of 12 (mixed): Adam's has an offset |
# | $r_t$ settles | last 10% within 15% of updates 500-600 | 8 of 12 (mixed): SGD's still rises |
# | SGD: no autocorrelation of $d_t$ | $\rho_1$ within 0.1 of 0 | 5 of 6 |
# | Adam: negative autocorrelation of $d_t$ | $\rho_1<0$ and below SGD's | **1 of 6: not reproduced** (+0.1) |
# | short-run synthesis produces digits | FD below a fitted Gaussian's | 3 of 3 (noisy digits) |
# | oversaturated long-run images | energy below the data's, FD $>2\times$ | 3 of 3 |
# | convergent long-run images stay realistic | FD $\le2\times$ short-run | `full` only |

# %%
recorded = show_metrics(params, metrics)
