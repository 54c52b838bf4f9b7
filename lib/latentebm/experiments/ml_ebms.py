"""The EBMs of notebook 10 (the anatomy of MCMC-based maximum-likelihood learning, Nijkamp et al. 2020): one frozen
recipe per profile and outcome, every default in one place, and the evaluations the notebook reports.

Two outcomes, after the authors' configurations (``config_locker`` of point0bar1/ebm-anatomy):

============== ========================================== ================================================
outcome        authors (2-D toys)                          ``ci`` here (what the 2-core budget allows)
============== ========================================== ================================================
convergent     SGD 0.1, eps 0.125, L = 500, persistent      the same, but L = 50, a bank of 2,000, SGD 1.0 and
               bank of 10k uniform on [-1, 1]^2, 200k       1,000 updates
               updates
non-convergent Adam 1e-4, eps 0.01, L = 100, N(0, I)        the same, but L = 50, Adam 3e-4 and 1,000 updates
               start, 100k updates
============== ========================================== ================================================

(the learning rates are raised because 1,000 updates are 100-200 times fewer than the authors'). Both use the
authors' toy network, an MLP 2-32-64-64-64-1 with LeakyReLU(0.05), batches of 100. Each run trains every
(toy, seed) pair as one member of an :class:`~latentebm.models.ensembles.EnsembleMLP`: member ``t * seeds + k``
is seed k of toy t. The images (``ci``: scikit-learn's 8x8 digits; ``full``: MNIST) use the non-convergent recipe
of the authors' image runs (Adam 1e-4, eps 0.01, uniform noise start, data noise 3e-2) on an MLP energy, and in
``full`` also their convergent MNIST recipe (:func:`image_recipe`).

Random streams below the notebook's root: ``ml_ebms/<outcome>/<toys|images>`` (``init`` for the weights, ``loop``
for the run), ``ml_ebms/classifier`` for the digits' feature classifier; the evaluations take their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from latentebm.data.images import digits_8x8, mnist, mnist_subset
from latentebm.data.toys_anatomy import ToyTarget
from latentebm.divergences.mmd import mmd2
from latentebm.divergences.variational import Measure
from latentebm.experiments import Trained, checkpoint_path, digest, train_or_load
from latentebm.metrics.grid_density import kl_on_grid, normalised_log_density, square_grid
from latentebm.models.ensembles import EnsembleMLP
from latentebm.ops import frozen
from latentebm.runtime import Stream, default_dtype, initialised_from
from latentebm.training.loop import ProgressLog, log_file
from latentebm.training.ml_ebm import Bank, DataSampler, MLConfig, initial_states, langevin_chains, negatives, train_ml

OUTCOMES = ("convergent", "nonconvergent")
DTYPE = torch.float32
TOY_NET = (2, 32, 64, 64, 64, 1)


@dataclass(frozen=True)
class EBMRecipe:
    """One training run: its data (``toys`` or an image ``dataset``), seeds per dataset, network and ML config."""

    outcome: str
    train: MLConfig
    seeds: int = 3
    toys: tuple[ToyTarget, ...] = ()
    dataset: str = ""
    """"digits" (8x8), "mnist_subset" (28x28) or "mnist"; empty for toys"""
    hidden: tuple[int, ...] = (32, 64, 64, 64)

    @property
    def members(self) -> int:
        return self.seeds * max(len(self.toys), 1)

    @property
    def dim(self) -> int:
        return 2 if self.toys else {"digits": 64}.get(self.dataset, 784)


def toy_targets(profile: str, rings: int | None = None) -> tuple[ToyTarget, ...]:
    """The authors' 8-Gaussian ring and their rings (4 in ``full``; 2 in ``ci`` unless ``rings`` is given)."""
    return (ToyTarget("gmm", 8), ToyTarget("rings", rings or (2 if profile == "ci" else 4)))


def toy_recipe(profile: str, outcome: str, *, seeds: int | None = None, iterations: int | None = None,
               langevin_steps: int | None = None, rings: int | None = None) -> EBMRecipe:
    """The toy run of ``outcome`` in ``profile`` with a notebook's knobs (``None`` keeps the recipe's value).

    The non-convergent run starts its chains from N(0, s^2 I) with the authors' s per toy in ``full`` (1 for the
    Gaussians, 2 for their 4 rings) and s = 1 for both in ``ci`` (whose 2 rings reach radius 2 only)."""
    ci = profile == "ci"
    seeds = seeds or 3
    toys = toy_targets(profile, rings)
    if outcome == "convergent":
        train = MLConfig(iterations=1000 if ci else 200000, epsilon=0.125, langevin_steps=50 if ci else 500,
                         init="persistent", bank_size=2000 if ci else 10000, optimiser="sgd", lr=1.0 if ci else 0.1)
    elif outcome == "nonconvergent":
        scales = 1.0 if ci else tuple(1.0 if toy.kind == "gmm" else 2.0 for toy in toys for _ in range(seeds))
        train = MLConfig(iterations=1000 if ci else 100000, epsilon=0.01, langevin_steps=50 if ci else 100,
                         init="gaussian", init_scale=scales, optimiser="adam", lr=3e-4 if ci else 1e-4)
    else:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    changes = {k: v for k, v in {"iterations": iterations, "langevin_steps": langevin_steps}.items() if v is not None}
    return EBMRecipe(outcome, replace(train, **changes), seeds, toys)


def image_recipe(profile: str, outcome: str = "nonconvergent", *, seeds: int | None = None,
                 iterations: int | None = None, langevin_steps: int | None = None) -> EBMRecipe:
    """An image run: ``"nonconvergent"`` (the authors' CIFAR-10 / Flowers recipe: Adam, eps 0.01, uniform noise
    start, data noise 3e-2) on digits 8x8 in ``ci`` (an MLP 64-256-256-1) and on MNIST in ``full``; or
    ``"convergent"`` (the authors' MNIST recipe: SGD 1e-2, eps 7.5e-3, L = 500, a persistent bank of one state
    per training image, data noise 1.5e-2; too costly for ``ci``, where it is only defined). The non-convergent
    ``full`` run takes the authors' L = 150 of their CIFAR-10 / Flowers runs. Both use an MLP energy (the
    authors use a ConvNet)."""
    ci = profile == "ci"
    if outcome == "nonconvergent":
        train = MLConfig(iterations=600 if ci else 100000, epsilon=0.01, langevin_steps=25 if ci else 150,
                         init="uniform", optimiser="adam", lr=3e-4 if ci else 1e-4, data_noise=0.03,
                         checkpoint_every=0 if ci else 5000)
    elif outcome == "convergent":
        train = MLConfig(iterations=800 if ci else 100000, epsilon=7.5e-3, langevin_steps=30 if ci else 500,
                         init="persistent", bank_size=2000 if ci else 60000, optimiser="sgd", lr=1e-2,
                         data_noise=1.5e-2, checkpoint_every=0 if ci else 5000)
    else:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    changes = {k: v for k, v in {"iterations": iterations, "langevin_steps": langevin_steps}.items() if v is not None}
    return EBMRecipe(outcome, replace(train, **changes), seeds or 3, dataset="digits" if ci else "mnist",
                     hidden=(256, 256) if ci else (1024, 1024, 1024))


def images(dataset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W) in [-1, 1] and labels of ``dataset``."""
    if dataset == "digits":
        return digits_8x8()
    if dataset == "mnist_subset":
        return mnist_subset(28)
    if dataset == "mnist":
        return mnist("train")
    raise ValueError(f"unknown image dataset {dataset!r}")


def data_sampler(recipe: EBMRecipe) -> DataSampler:
    """``draw(n, rng) -> (S, n, D)``: member ``t * seeds + k`` draws from toy t (or from the images)."""
    if recipe.toys:
        def draw(n: int, rng: torch.Generator) -> torch.Tensor:
            return torch.stack([toy.sample(n, rng) for toy in recipe.toys for _ in range(recipe.seeds)])
        return draw
    flat = images(recipe.dataset)[0].flatten(1)

    def draw_images(n: int, rng: torch.Generator) -> torch.Tensor:
        return flat[torch.randint(flat.shape[0], (recipe.members, n), generator=rng)]
    return draw_images


def run_stream(recipe: EBMRecipe, streams: Stream) -> Stream:
    return streams.child("ml_ebms", recipe.outcome, "toys" if recipe.toys else "images")


def train_or_load_ebm(recipe: EBMRecipe, streams: Stream, output_dir: Path | str, device: torch.device | str,
                      log: ProgressLog | None = None) -> Trained:
    """The run's ensemble, trained or loaded: modules {"energy", "bank"} frozen on ``device``; info {"d", "r"}."""
    stream = run_stream(recipe, streams)
    checkpoint = checkpoint_path(output_dir, f"ml_ebm-{digest(recipe, stream)}", recipe.train.checkpoint_every)
    bank_size = recipe.train.bank_size if recipe.train.init == "persistent" else 0

    def build(r: EBMRecipe) -> dict[str, nn.Module]:
        with initialised_from(stream.child("init")):
            return {"energy": EnsembleMLP(r.members, (r.dim, *r.hidden, 1)), "bank": Bank(r.members, bank_size, r.dim)}

    def train(modules: Mapping[str, nn.Module]) -> dict:
        run = train_ml(modules["energy"], modules["bank"], data_sampler(recipe), recipe.train,
                       stream.child("loop").torch(), device, log, checkpoint)
        return run.history()

    with default_dtype(DTYPE):
        trained = train_or_load("ml_ebm", recipe, stream, output_dir, build, train)
    trained.modules = {name: frozen(module.to(device)) for name, module in trained.modules.items()}
    return trained


def train_job(recipe: EBMRecipe, streams: Stream, output_dir: Path | str, device: torch.device | str,
              log_path: Path | str | None = None) -> None:
    """Train (or find saved) one run, logging to ``log_path``: a job for
    :func:`latentebm.experiments.parallel.train_all`."""
    with log_file(log_path, every=100, prefix=f"{recipe.outcome} {'toys' if recipe.toys else 'images'} ") as log:
        train_or_load_ebm(recipe, streams, output_dir, device, log=log)


# --- evaluation -------------------------------------------------------------------------------------------------


def short_run(trained: Trained, recipe: EBMRecipe, n: int, rng: torch.Generator) -> torch.Tensor:
    """n samples per member from the training sampler (the bank is read, not written): (S, n, D)."""
    energy, bank = trained.modules["energy"], trained.modules["bank"]
    return negatives(energy, recipe.train, bank, n, rng, data_sampler(recipe), update=False)[0].detach()


def long_run(trained: Trained, recipe: EBMRecipe, x0: torch.Tensor, steps: int, rng: torch.Generator,
             record_every: int, sampler: str = "ula") -> dict[str, Any]:
    """Chains from ``x0: (S, n, D)`` with the training step (eps^2 / 2 on U), ``steps`` steps by ULA or MALA.

    Returns {"x": final states, "steps": recorded steps, "u": mean U per member at them (T, S), "states": the states
    at them (T, S, n, D), "acceptance": (S,) over the whole run}."""
    energy, eps = trained.modules["energy"], recipe.train.epsilon
    h = recipe.train.step_size
    x, done, accepted = x0, 0, torch.zeros(x0.shape[0])
    record = {"steps": [0], "u": [(energy(x) / h).mean(-1).detach()], "states": [x]}
    while done < steps:
        block = min(record_every, steps - done)
        x, _, rate = langevin_chains(energy, x, eps, block, rng, sampler)
        x, done, accepted = x.detach(), done + block, accepted + rate.cpu() * block
        record["steps"].append(done)
        record["u"].append((energy(x) / h).mean(-1).detach())
        record["states"].append(x)
    return {"x": x, "steps": np.array(record["steps"]), "u": torch.stack(record["u"]).cpu().numpy(),
            "states": torch.stack(record["states"]).cpu(), "acceptance": (accepted / max(steps, 1)).numpy()}


def noise_start(recipe: EBMRecipe, n: int, rng: torch.Generator) -> torch.Tensor:
    """Starts (S, n, D) from the recipe's noise (a persistent bank's uniform start for the convergent recipe)."""
    init = "uniform" if recipe.train.init == "persistent" else recipe.train.init
    return initial_states(init, (recipe.members, n, recipe.dim), recipe.train.init_scale, rng)


def grid_log_densities(trained: Trained, recipe: EBMRecipe, cells: int) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """The learned densities exp(-F / (eps^2/2)) / Z of every member and the data's density, normalised on the
    grid over each toy's plotting square: (grids per toy, log p_theta (S, G), log p_data (S, G))."""
    energy, h = trained.modules["energy"], recipe.train.step_size
    grids = [square_grid(toy.extent, cells) for toy in recipe.toys]
    points = torch.stack([g.points for g in grids for _ in range(recipe.seeds)]).to(DTYPE)
    with torch.no_grad():
        neg_u = -energy(points.to(next(energy.parameters()).device)).double().cpu() / h
    areas = [g.cell_area for g in grids for _ in range(recipe.seeds)]
    log_model = torch.stack([normalised_log_density(neg_u[m], areas[m]) for m in range(recipe.members)])
    log_data = torch.stack([normalised_log_density(toy.log_density(g.points), g.cell_area)
                            for toy, g in zip(recipe.toys, grids, strict=True) for _ in range(recipe.seeds)])
    return grids, log_model, log_data


def grid_kl(trained: Trained, recipe: EBMRecipe, cells: int) -> np.ndarray:
    """KL(data || p_theta) on the grid, per member (S,)."""
    grids, log_model, log_data = grid_log_densities(trained, recipe, cells)
    areas = torch.tensor([g.cell_area for g in grids for _ in range(recipe.seeds)], dtype=torch.float64)
    return np.array([float(kl_on_grid(log_data[m], log_model[m], float(areas[m]))) for m in range(recipe.members)])


def mmd2_to(samples: torch.Tensor, reference: torch.Tensor, bandwidth: float) -> np.ndarray:
    """MMD^2 (V-statistic, Gaussian kernel) of each member's samples to its reference: (S, n, D) x2 -> (S,)."""
    return np.array([mmd2(Measure(samples[m].double()), Measure(reference[m].double()), bandwidth)
                     for m in range(samples.shape[0])])


def feature_classifier(dataset: str, steps: int, streams: Stream, output_dir: Path | str,
                       device: torch.device | str) -> nn.Module:
    """The classifier whose penultimate features give the images' FD (trained on ``dataset`` from
    ``streams/ml_ebms/classifier``, or loaded), frozen on ``device``."""
    from latentebm.metrics.frechet import build_classifier, train_classifier

    stream = streams.child("ml_ebms", "classifier")
    config = {"channels": 1, "n_classes": 10, "width": 16, "feature_dim": 64}
    identity = {"dataset": dataset, "classifier": config, "steps": steps}

    def train(modules: Mapping[str, nn.Module]) -> dict:
        x, y = images(dataset)
        modules["classifier"].load_state_dict(train_classifier(x, y, config, steps, stream.torch()).state_dict())
        return {}

    def build(_: Any) -> dict[str, nn.Module]:  # a shell for the weights that training or the store fills
        with initialised_from(stream.child("shell")):
            return build_classifier(config)

    with default_dtype(DTYPE):
        trained = train_or_load("feature_classifier", identity, stream, output_dir, build, train)
    return frozen(trained.modules["classifier"].to(device))


def gaussian_fit_samples(x: torch.Tensor, n: int, rng: torch.Generator) -> torch.Tensor:
    """n draws from the Gaussian with the mean and covariance of ``x: (N, D)``, clipped to [-1, 1] (a baseline
    generator that knows the data's first two moments)."""
    x = x.double()
    mean, cov = x.mean(0), torch.cov(x.T)
    factor = torch.linalg.cholesky(cov + 1e-6 * torch.eye(x.shape[1], dtype=torch.float64))
    z = torch.randn(n, x.shape[1], generator=rng, dtype=torch.float64)
    return (mean + z @ factor.T).clamp(-1, 1).to(DTYPE)


def exact_samples(grids: list, log_model: torch.Tensor, recipe: EBMRecipe, n: int, stream: Stream) -> torch.Tensor:
    """n exact draws per member from its grid-normalised density p_theta (no MCMC): (S, n, 2), member m drawing
    from ``stream/m``."""
    from latentebm.metrics.grid_density import sample_grid

    chosen = [g for g in grids for _ in range(recipe.seeds)]
    return torch.stack([sample_grid(log_model[m], chosen[m], n, stream.child(m).torch()).to(DTYPE)
                        for m in range(recipe.members)])


def image_evaluation(trained: Trained, recipe: EBMRecipe, scorer: Any, n: int, steps: int, rng: torch.Generator,
                     record_every: int) -> dict[str, Any]:
    """Short-run samples and a long run from data of an image run, scored by ``scorer`` (an FD per member on
    images clipped to [-1, 1]): {"short" (S, n, D), "fd_short" (S,), "chains" (:func:`long_run`), "fd_long" (T, S),
    "u_data" (S,) the data's mean U (the chains' start), "u_end" (S,), "saturated" (S,) share of pixels at
    |x| >= 1 at the end}."""
    shape = images(recipe.dataset)[0].shape[1:]
    device = next(trained.modules["energy"].parameters()).device

    def fd(x: torch.Tensor) -> float:
        return scorer(x.reshape(-1, *shape).clamp(-1, 1).to(device))[0]

    short = short_run(trained, recipe, n, rng)
    chains = long_run(trained, recipe, data_sampler(recipe)(n, rng).to(device), steps, rng, record_every)
    return {"short": short, "fd_short": np.array([fd(x) for x in short]), "chains": chains,
            "fd_long": np.array([[fd(x) for x in states] for states in chains["states"]]),
            "u_data": chains["u"][0], "u_end": chains["u"][-1],
            "saturated": (chains["x"].abs() >= 1).float().mean((1, 2)).cpu().numpy()}


def inner_ring_share(grid: Any, log_model: torch.Tensor, toy: ToyTarget) -> np.ndarray:
    """The share of each density's mass (rows of ``log_model``: (M, G) on ``grid``) nearer the innermost ring of
    ``toy`` than the next one (the data's share is 1 / groups)."""
    inner = grid.points.norm(dim=1) < 1.5 * toy.radius
    return (log_model.exp()[:, inner].sum(1) * grid.cell_area).numpy()


def toy_evaluation(trained: Trained, recipe: EBMRecipe, n: int, steps: int, cells: int, bandwidth: float,
                   stream: Stream, exact_stream: Stream) -> tuple[dict[str, Any], list, torch.Tensor, torch.Tensor]:
    """Every number notebook 10 reports for a toy run, per member: the grid KL, and the MMD^2 to a fresh data
    sample (``reference``) of another data sample (``floor``), of short-run samples, of ``steps``-step long runs
    (ULA from data and from noise, MALA from data, with its acceptance) and of exact draws of p_theta. Returns
    (that dict, with the short- and long-run samples as ``*_x``; the grids; log p_theta; log p_data)."""
    rng = stream.torch()
    device = next(trained.modules["energy"].parameters()).device
    draw = data_sampler(recipe)
    reference = draw(n, rng)
    out = {"kl": grid_kl(trained, recipe, cells), "reference": reference,
           "floor": mmd2_to(draw(n, rng), reference, bandwidth), "short_x": short_run(trained, recipe, n, rng)}
    out["short"] = mmd2_to(out["short_x"], reference, bandwidth)
    for key, start in (("long", draw(n, rng)), ("long_noise", noise_start(recipe, n, rng))):
        out[f"{key}_x"] = long_run(trained, recipe, start.to(device), steps, rng, steps)["x"].cpu()
        out[key] = mmd2_to(out[f"{key}_x"], reference, bandwidth)
    mala = long_run(trained, recipe, draw(n, rng).to(device), steps, rng, steps, sampler="mala")
    out["long_mala"], out["acceptance"] = mmd2_to(mala["x"].cpu(), reference, bandwidth), mala["acceptance"]
    grids, log_model, log_data = grid_log_densities(trained, recipe, cells)
    out["exact"] = mmd2_to(exact_samples(grids, log_model, recipe, n, exact_stream), reference, bandwidth)
    return out, grids, log_model, log_data
