"""The toy GEBM, its generator alone and the EBM with a density of notebook 05 (seed 001, "Generalized
energy-based models": the generator gets the support, the EBM the mass, the GEBM both).

One frozen :class:`ToyRecipe` per (profile, toy) holds every default: the data (a spiral arc in 2-D or a deformed
sphere in 3-D, :mod:`latentebm.data.toys_gebm`), the networks (an MLP base whose latent has the manifold's
dimension, narrower than the MLP energy), the joint KALE training, the refit of the energy at the final base,
and the EBM (the same energy class on a fixed Gaussian base fitted to the data, trained by the same loop).

Seed ``k`` of a toy is a fresh draw of everything: its random streams lie below ``streams/gebm_toys/<toy>/<k>``:
``data``; ``gebm/init``, ``gebm/loop``, ``gebm/refit``; ``ebm/init``, ``ebm/loop``. :func:`train_seed` trains
both models of one seed (a job for :func:`latentebm.experiments.parallel.train_all`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from latentebm.data.toys_gebm import curve_2d, deformed_sphere
from latentebm.experiments import Trained, train_or_load
from latentebm.metrics.manifold import support_and_mass
from latentebm.models.energies import MLPEnergy
from latentebm.models.generators import MLPGenerator, fit_gaussian_base
from latentebm.runtime import Stream, initialised_from
from latentebm.samplers.chains import gebm_ula_samples
from latentebm.samplers.resampling import resample_reweighted_base
from latentebm.training.gebm import GEBMRun, GEBMTrainConfig, refit_energy, train_gebm
from latentebm.training.loop import ProgressLog, log_file

TOYS = {"curve": (curve_2d, 2, 1), "sphere": (deformed_sphere, 3, 2)}
"""toy name -> (data function, data dimension, manifold (= latent) dimension)"""


@dataclass(frozen=True)
class ToyRecipe:
    toy: str
    """"curve" or "sphere" (:data:`TOYS`)"""
    points: int
    """data points; the first half is trained on, the second held out"""
    base_hidden: int
    """width of the MLP base: narrow, so that it cannot squeeze the latent Gaussian into the bumps of mass"""
    energy_hidden: int
    train: GEBMTrainConfig
    """the joint training (its ``steps`` base steps; the EBM takes as many rounds of energy steps)"""
    refit_steps: int
    """rounds of energy steps of the refit at the final base"""
    refit_gp_weight: float = 0.01
    ebm_gp_weight: float = 0.01


def _train(steps: int, latent_dim: int) -> GEBMTrainConfig:
    return GEBMTrainConfig(steps=steps, latent_dim=latent_dim, batch_size=128, energy_steps=3, warmup_energy_steps=20,
                           warmup_every=500, lr_energy=2e-3, lr_base=1e-3, gp_weight=0.1)


def recipe(profile: str, toy: str, **knobs) -> ToyRecipe:
    """The recipe of ``toy`` in ``profile``, with a notebook's knobs applied: ``points``, ``steps``,
    ``refit_steps``, ``base_hidden``, ``energy_hidden``, ``amp`` (``None`` keeps the recipe's value)."""
    if toy not in TOYS:
        raise ValueError(f"unknown toy {toy!r}; expected one of {sorted(TOYS)}")
    points, steps, refit_steps, energy_hidden = (2000, 3000, 1000, 64) if profile == "ci" else (5000, 10000, 3000, 128)
    base = ToyRecipe(toy, points, base_hidden=16, energy_hidden=energy_hidden, train=_train(steps, TOYS[toy][2]),
                     refit_steps=refit_steps)
    knobs = {k: v for k, v in knobs.items() if v is not None}
    train = replace(base.train, **{k: knobs.pop(k) for k in ("steps", "amp") if k in knobs})
    return replace(base, train=train, **knobs)


def seed_stream(recipe: ToyRecipe, streams: Stream, k: int) -> Stream:
    """The stream of seed ``k`` of the recipe's toy: ``streams/gebm_toys/<toy>/<k>``."""
    return streams.child("gebm_toys", recipe.toy, k)


def data(recipe: ToyRecipe, streams: Stream, k: int = 0) -> dict[str, torch.Tensor]:
    """{"x_train", "x_test", "s_train", "s_test", "s"}: points (N, D) on the manifold and the coordinate s that
    carries the mass along it, drawn from ``streams/gebm_toys/<toy>/<k>/data``; the first half is the training
    half."""
    make = TOYS[recipe.toy][0]
    x, s = make(recipe.points, seed_stream(recipe, streams, k).child("data").torch())
    half = recipe.points // 2
    return {"x_train": x[:half], "x_test": x[half:], "s_train": s[:half], "s_test": s[half:], "s": s}


def _info(run: GEBMRun) -> dict:
    return {"steps": run.steps, "history": run.history, "c": run.c}


def gebm(recipe: ToyRecipe, streams: Stream, k: int, output_dir: Path | str, device: torch.device | str,
         log: ProgressLog | None = None) -> Trained:
    """Seed ``k`` of the toy GEBM, trained or loaded: {"base", "energy" (as trained jointly), "energy_refit"};
    ``info``: {"joint": run, "refit": run} learning curves."""
    stream = seed_stream(recipe, streams, k).child("gebm")
    dim, latent_dim = TOYS[recipe.toy][1:]

    def build(r: ToyRecipe) -> dict[str, nn.Module]:
        with initialised_from(stream.child("init")):
            base, energy = MLPGenerator(latent_dim, (dim,), hidden=r.base_hidden), MLPEnergy(dim, r.energy_hidden)
        return {"base": base, "energy": energy, "energy_refit": copy.deepcopy(energy)}

    def train(modules: Mapping[str, nn.Module]) -> dict:
        x_train = data(recipe, streams, k)["x_train"]
        joint = train_gebm(modules["base"], modules["energy"], x_train, recipe.train,
                           rng=stream.child("loop").torch(), device=device, log=log)
        modules["energy_refit"].load_state_dict(modules["energy"].state_dict())
        refit = refit_energy(modules["base"], modules["energy_refit"], x_train, recipe.train, recipe.refit_steps,
                             recipe.refit_gp_weight, rng=stream.child("refit").torch(), device=device, log=log)
        return {"joint": _info(joint), "refit": _info(refit)}

    return train_or_load("gebm_toy", recipe, stream, output_dir, build, train)


def ebm(recipe: ToyRecipe, streams: Stream, k: int, output_dir: Path | str, device: torch.device | str,
        log: ProgressLog | None = None) -> Trained:
    """Seed ``k`` of the EBM with a density: the same energy class reweighting the fixed Gaussian base N(mean,
    covariance of the training data) in data space, trained by the same KALE loop with the base frozen for
    ``recipe.train.steps`` rounds. {"base", "energy"}; ``info``: {"run": learning curves}."""
    stream = seed_stream(recipe, streams, k).child("ebm")
    dim = TOYS[recipe.toy][1]
    config = replace(recipe.train, latent_dim=dim, gp_weight=recipe.ebm_gp_weight, train_base=False, amp=False)

    def build(r: ToyRecipe) -> dict[str, nn.Module]:
        with initialised_from(stream.child("init")):
            energy = MLPEnergy(dim, r.energy_hidden)
        return {"base": fit_gaussian_base(data(r, streams, k)["x_train"]), "energy": energy}

    def train(modules: Mapping[str, nn.Module]) -> dict:
        run = train_gebm(modules["base"], modules["energy"], data(recipe, streams, k)["x_train"], config,
                         rng=stream.child("loop").torch(), device=device, log=log)
        return {"run": _info(run)}

    return train_or_load("ebm_toy", recipe, stream, output_dir, build, train)


def train_seed(recipe: ToyRecipe, streams: Stream, k: int, output_dir: Path | str, device: torch.device | str,
               log_path: Path | str | None = None) -> None:
    """Train (or find saved) both models of seed ``k``, the GEBM and the EBM, logging to ``log_path``."""
    with log_file(log_path, every=500, prefix=f"{recipe.toy} seed {k} ") as log:
        gebm(recipe, streams, k, output_dir, device, log=log)
        ebm(recipe, streams, k, output_dir, device, log=log)


MODELS = ("generator alone", "EBM", "GEBM, joint energy", "GEBM", "GEBM, latent Langevin")
"""the sample sets :func:`evaluate` scores, besides the training data (the floor)"""


@dataclass
class Evaluation:
    """Seed ``k`` of a toy, scored against its held-out half (and, to see overfitting, against its training half)."""

    held_out: dict[str, tuple[float, float]]
    """{label: (off-support distance, mass error)} for "data (train)" and every label of :data:`MODELS`"""
    training_half: dict[str, tuple[float, float]]
    """the same against the training half (the training data's own entry is then 0 by construction)"""
    samples: dict[str, torch.Tensor]
    histograms: dict[str, torch.Tensor]
    edges: torch.Tensor
    ess: dict[str, float]
    """the importance-resampling pools' effective sample sizes (GEBM, EBM)"""


def evaluate(recipe: ToyRecipe, streams: Stream, k: int, output_dir: Path | str, device: torch.device | str,
             pool: int, langevin_steps: int) -> Evaluation:
    """Load seed ``k``'s GEBM and EBM (trained if missing) and score as many samples of each model as there are
    held-out points. The models' samples come from sampling-importance-resampling of ``pool`` base draws (exact
    as the pool grows); the GEBM's latent Langevin samples (beta 1, ``langevin_steps`` ULA steps of 1e-2) are
    scored beside them. Random draws from ``streams/gebm_toys/<toy>/<k>/samples``."""
    toy = data(recipe, streams, k)
    gebm_modules = gebm(recipe, streams, k, output_dir, device).modules
    ebm_modules = ebm(recipe, streams, k, output_dir, device).modules
    rng = seed_stream(recipe, streams, k).child("samples").torch()
    latent_dim, half = recipe.train.latent_dim, toy["x_test"].shape[0]
    base = gebm_modules["base"]
    with torch.no_grad():
        x_gen = base(torch.randn(half, latent_dim, generator=rng).to(device)).cpu()
    joint = resample_reweighted_base(base, gebm_modules["energy"], latent_dim, half, pool, rng, device=device)
    refit = resample_reweighted_base(base, gebm_modules["energy_refit"], latent_dim, half, pool, rng, device=device)
    reweighted = resample_reweighted_base(ebm_modules["base"], ebm_modules["energy"], toy["x_train"].shape[1], half,
                                          pool, rng, device=device)
    x_langevin = gebm_ula_samples(base, gebm_modules["energy_refit"], half, latent_dim, rng, 1.0, langevin_steps,
                                  1e-2, device)
    samples = dict(zip(("data (train)", *MODELS), (toy["x_train"], x_gen, reweighted.x, joint.x, refit.x,
                                                   x_langevin), strict=True))
    edges = torch.linspace(float(toy["s"].min()), float(toy["s"].max()), 11, dtype=torch.float64)
    held_out, histograms = support_and_mass(samples, toy["x_test"], toy["s_test"], edges)
    training_half, _ = support_and_mass(samples, toy["x_train"], toy["s_train"], edges)
    return Evaluation(held_out, training_half, samples, histograms, edges, {"GEBM": refit.ess, "EBM": reweighted.ess})
