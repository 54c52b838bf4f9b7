"""Recipe: the Real NVP comparison of notebook 07 (seed 001, "Sanity check: reduction to EBM case").

What is trained: a Real NVP by maximum likelihood (the base, and the "MLE" row), then on top of it an energy by
each of KALE, Donsker-Varadhan and contrastive divergence (:mod:`latentebm.training.ebm`); once on a 2-D toy
(two moons; the flow and a KALE energy, for the checks of sections 2-3) and once per tabular dataset and
training seed (section 4's table of test NLLs).

:data:`RECIPES` holds one frozen :class:`Recipe` per profile: every default of these runs in one place (the
notebook's catalogue spec offers the tunable ones as knobs, with these values). A trained model's identity is
its :class:`FlowModel` or :class:`EnergyModel` (architecture, training settings, data, the name of the random
stream it draws from) and its run stream; models are saved in :mod:`latentebm.models.store` under
``<kind>-<digest>`` and loaded when the identity matches (:func:`latentebm.experiments.train_or_load`).

Random streams below a run stream ``run`` (``root.child("toy")``, or ``root.child("tabular", name, seed)``):
``run/data`` (two-moons points), ``run/<model.stream>/init`` (initial weights), ``run/<model.stream>/train``
(minibatches, base draws, Langevin noise), and, for evaluation, ``run/test_log_z/<method>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentebm import experiments
from latentebm.data import tabular, toys
from latentebm.experiments import checkpoint_path, labelled
from latentebm.metrics.likelihood import gaussian_fit_nll
from latentebm.models.flows import RealNVP
from latentebm.runtime import Stream, initialised_from
from latentebm.training import ebm
from latentebm.training.flows import FlowFitConfig, fit_flow, mean_nll
from latentebm.training.loop import ProgressLog

METHODS = ("mle", "cd", "dv", "kale")
"""the rows of the table: the NVP alone, then an energy on it by each objective"""
ENERGY_METHODS = METHODS[1:]


@dataclass(frozen=True)
class TwoMoons:
    """The 2-D toy: ``train`` and ``val`` points of two moons with Gaussian noise of std ``noise``."""

    train: int
    val: int
    noise: float


@dataclass(frozen=True)
class Tabular:
    """A tabular dataset of :mod:`latentebm.data.tabular` (its fixed, standardised splits)."""

    name: str


@dataclass(frozen=True)
class FlowModel:
    """A Real NVP trained by maximum likelihood on ``data``; draws from ``run/<stream>/{init,train}``."""

    data: TwoMoons | Tabular
    layers: int
    hidden: int
    depth: int
    fit: FlowFitConfig
    stream: str = "flow"


@dataclass(frozen=True)
class EnergyModel:
    """An energy MLP trained by ``fit.method`` on top of the flow ``flow`` (its base, kept fixed unless
    ``fit.train_base``); draws from ``run/<stream>/{init,train}``."""

    flow: FlowModel
    hidden: int
    depth: int
    fit: ebm.EnergyFitConfig
    stream: str


@dataclass(frozen=True)
class Recipe:
    """Every setting of notebook 07's training runs. Fields without a ``toy_`` prefix are the tabular runs'."""

    # the 2-D toy of sections 2-3
    toy_samples: int
    toy_flow_steps: int
    toy_energy_steps: int
    # the tabular comparison of section 4
    flow_layers: int
    flow_hidden: int
    flow_steps: int
    flow_lr: float
    batch_size: int
    energy_hidden: int
    energy_steps: int
    energy_lr: float
    n_base: int
    cd_negatives: int
    langevin_steps: int
    langevin_step_size: float
    train_base: bool
    eval_every: int
    eval_samples: int
    # fixed settings (no knob)
    toy_noise: float = 0.08
    toy_flow_layers: int = 6
    toy_flow_hidden: int = 32
    toy_batch_size: int = 256
    toy_flow_lr: float = 2e-3
    toy_eval_every: int = 50
    toy_energy_hidden: int = 64
    toy_n_base: int = 512
    toy_energy_lr: float = 5e-3
    toy_eval_samples: int = 4096
    flow_depth: int = 2
    energy_depth: int = 2
    flow_weight_decay: float = 1e-5
    energy_weight_decay: float = 1e-4
    base_lr: float = 1e-4

    def toy_flow(self) -> FlowModel:
        data = TwoMoons(self.toy_samples, self.toy_samples // 4, self.toy_noise)
        fit = FlowFitConfig(self.toy_flow_steps, self.toy_batch_size, self.toy_flow_lr, self.flow_weight_decay,
                            self.toy_eval_every)
        return FlowModel(data, self.toy_flow_layers, self.toy_flow_hidden, self.flow_depth, fit)

    def toy_energy(self) -> EnergyModel:
        fit = ebm.EnergyFitConfig(method="kale", steps=self.toy_energy_steps, batch_size=self.toy_batch_size,
                                  n_base=self.toy_n_base, lr=self.toy_energy_lr,
                                  weight_decay=self.energy_weight_decay, eval_every=self.toy_eval_every,
                                  eval_samples=self.toy_eval_samples)
        return EnergyModel(self.toy_flow(), self.toy_energy_hidden, self.energy_depth, fit, "kale")

    def flow(self, dataset: str) -> FlowModel:
        fit = FlowFitConfig(self.flow_steps, self.batch_size, self.flow_lr, self.flow_weight_decay, self.eval_every)
        return FlowModel(Tabular(dataset), self.flow_layers, self.flow_hidden, self.flow_depth, fit)

    def energy(self, dataset: str, method: str) -> EnergyModel:
        """The energy of ``method`` (``"cd"``, ``"dv"``, ``"kale"``) on the flow of ``dataset``; CD's base draws
        are its Langevin negatives (``cd_negatives``), KALE's and DV's are ``n_base``."""
        if method not in ENERGY_METHODS:
            raise ValueError(f"method must be one of {ENERGY_METHODS}, got {method!r}")
        fit = ebm.EnergyFitConfig(
            method=method, steps=self.energy_steps, batch_size=self.batch_size,
            n_base=self.cd_negatives if method == "cd" else self.n_base, lr=self.energy_lr,
            weight_decay=self.energy_weight_decay, train_base=self.train_base, base_lr=self.base_lr,
            langevin_steps=self.langevin_steps, langevin_step_size=self.langevin_step_size,
            eval_every=self.eval_every, eval_samples=self.eval_samples)
        return EnergyModel(self.flow(dataset), self.energy_hidden, self.energy_depth, fit, method)


RECIPES: dict[str, Recipe] = {
    "ci": Recipe(toy_samples=2000, toy_flow_steps=300, toy_energy_steps=800, flow_layers=4, flow_hidden=32,
                 flow_steps=400, flow_lr=1e-3, batch_size=64, energy_hidden=32, energy_steps=300, energy_lr=2e-3,
                 n_base=256, cd_negatives=64, langevin_steps=20, langevin_step_size=0.1, train_base=False,
                 eval_every=25, eval_samples=2048),
    "full": Recipe(toy_samples=20000, toy_flow_steps=3000, toy_energy_steps=3000, flow_layers=8, flow_hidden=128,
                   flow_steps=20000, flow_lr=1e-4, batch_size=128, energy_hidden=128, energy_steps=5000,
                   energy_lr=1e-4, n_base=1024, cd_negatives=256, langevin_steps=50, langevin_step_size=0.05,
                   train_base=False, eval_every=250, eval_samples=16384),
}


def recipe(profile: str, knobs: Mapping[str, Any] | None = None) -> Recipe:
    """The profile's recipe with the entries of ``knobs`` named like a field of :class:`Recipe` replacing it
    (other entries are ignored: a notebook passes all its knobs)."""
    return experiments.with_knobs(RECIPES[profile], knobs)


@dataclass(frozen=True)
class Splits:
    """Training, validation and (tabular only) test points, ``(n, d)``, on the run's device."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor | None = None


def load_data(data: TwoMoons | Tabular, run: Stream, device: torch.device | str = "cpu") -> Splits:
    """The points a model of ``data`` trains on: two moons drawn from ``run/data``, or the tabular splits."""
    if isinstance(data, TwoMoons):
        points = toys.two_moons(data.train + data.val, data.noise, run.child("data").torch()).to(device)
        return Splits(points[:data.train], points[data.train:])
    splits = tabular.load(data.name)
    return Splits(splits.train.to(device), splits.val.to(device), splits.test.to(device))


def _kind(model: FlowModel | EnergyModel) -> str:
    data = model.data if isinstance(model, FlowModel) else model.flow.data
    return f"realnvp-{'toy' if isinstance(data, TwoMoons) else data.name}-{model.stream}"


def train_or_load_flow(model: FlowModel, data: Splits, run: Stream, output_dir: Path | str,
                       device: torch.device | str = "cpu", log: ProgressLog | None = None,
                       checkpoint_every: int = 0) -> experiments.Trained:
    """The flow of ``model`` trained on ``data`` (:func:`load_data` of ``model.data``, on ``device``) from the
    stream ``run``, or loaded from the store; ``modules["flow"]`` on ``device``, ``info`` its learning curves
    and selection (:meth:`latentebm.training.flows.FlowFit.history`)."""
    streams, kind = run.child(model.stream), _kind(model)

    def build(model: FlowModel) -> dict:
        with initialised_from(streams.child("init")):
            return {"flow": RealNVP(data.train.shape[1], model.layers, model.hidden, model.depth)}

    def train(modules: Mapping) -> dict:
        checkpoint = checkpoint_path(output_dir, f"{kind}-{experiments.digest(model, run)}", checkpoint_every)
        rng = streams.child("train").torch(device)
        fit = fit_flow(modules["flow"].to(device), data.train, data.val, model.fit, rng, log=labelled(log, kind, run),
                       checkpoint=checkpoint, checkpoint_every=checkpoint_every)
        return fit.history()

    trained = experiments.train_or_load(kind, model, run, output_dir, build, train)
    trained.modules["flow"].to(device)
    return trained


def train_or_load_energy(model: EnergyModel, flow: RealNVP, data: Splits, run: Stream, output_dir: Path | str,
                         device: torch.device | str = "cpu", log: ProgressLog | None = None,
                         checkpoint_every: int = 0) -> experiments.Trained:
    """The energy of ``model`` on ``flow`` (the flow of ``model.flow`` from the same ``run``) trained on ``data``
    from ``run``, or loaded; ``modules["model"]`` is the :class:`~latentebm.training.ebm.EnergyOnBase` on
    ``device``, ``info`` its curves and selection (:meth:`latentebm.training.ebm.EnergyFit.history`)."""
    streams, kind = run.child(model.stream), _kind(model)

    def build(model: EnergyModel) -> dict:
        dim = data.train.shape[1]
        with initialised_from(streams.child("init")):
            energy = ebm.make_energy(dim, model.hidden, model.depth)
            base = RealNVP(dim, model.flow.layers, model.flow.hidden, model.flow.depth)  # weights: the flow's
        return {"model": ebm.EnergyOnBase(base, energy)}

    def train(modules: Mapping) -> dict:
        energy_model = modules["model"].to(device)
        energy_model.base.load_state_dict(flow.state_dict())
        checkpoint = checkpoint_path(output_dir, f"{kind}-{experiments.digest(model, run)}", checkpoint_every)
        fit = ebm.fit_energy(energy_model, data.train, data.val, model.fit, streams.child("train").torch(device),
                             log=labelled(log, kind, run), checkpoint=checkpoint, checkpoint_every=checkpoint_every)
        return fit.history()

    trained = experiments.train_or_load(kind, model, run, output_dir, build, train)
    trained.modules["model"].to(device)
    return trained


@dataclass
class SeedRun:
    """One training seed on one dataset: test NLL per method (``"mle"`` the flow alone), the std of the test
    log Z over repeats per energy, the trained energies, and their validation curves (steps, NLLs)."""

    nll: dict[str, float]
    log_z_std: dict[str, float]
    models: dict[str, ebm.EnergyOnBase]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]


def run_dataset(recipe: Recipe, dataset: str, data: Splits, run: Stream, output_dir: Path | str,
                log_z_samples: int, log_z_repeats: int, device: torch.device | str = "cpu",
                log: ProgressLog | None = None, checkpoint_every: int = 0) -> SeedRun:
    """Train (or load) the NVP and the three energies on ``dataset`` (its splits ``data`` on ``device``) from
    the stream ``run``; score each on the test split, log Z pooled over ``log_z_repeats`` importance-sampling
    repeats of ``log_z_samples`` base draws from ``run/test_log_z/<method>``."""
    flow = train_or_load_flow(recipe.flow(dataset), data, run, output_dir, device, log,
                              checkpoint_every).modules["flow"]
    result = SeedRun({"mle": mean_nll(flow, data.test)}, {}, {}, {})
    for method in ENERGY_METHODS:
        trained = train_or_load_energy(recipe.energy(dataset, method), flow, data, run, output_dir, device, log,
                                       checkpoint_every)
        model = trained.modules["model"]
        nll, estimate = ebm.heldout_nll(model, data.test, log_z_samples, log_z_repeats,
                                        run.child("test_log_z", method).torch(device))
        result.nll[method], result.log_z_std[method], result.models[method] = nll, estimate.std, model
        result.curves[method] = (np.array(trained.info["eval_steps"]), np.array(trained.info["val_nll"]))
    return result


@dataclass
class Comparison:
    """Section 4's table for one dataset: ``nll (methods, seeds)`` in :data:`METHODS` order, ``log_z_std
    (energies, seeds)``, the runs, the test NLL of a Gaussian fitted to the training split, and the splits' sizes."""

    dataset: str
    dim: int
    sizes: tuple[int, int, int]
    nll: np.ndarray
    log_z_std: np.ndarray
    runs: list[SeedRun]
    gaussian: float

    def mean(self) -> dict[str, float]:
        return dict(zip(METHODS, self.nll.mean(1).tolist(), strict=True))

    def std(self) -> dict[str, float]:
        """Sample standard deviation over seeds (0 with one seed)."""
        spread = self.nll.std(1, ddof=1) if self.nll.shape[1] > 1 else np.zeros(len(METHODS))
        return dict(zip(METHODS, spread.tolist(), strict=True))


def compare(recipe: Recipe, dataset: str, root: Stream, n_seeds: int, output_dir: Path | str, log_z_samples: int,
            log_z_repeats: int, device: torch.device | str = "cpu", log: ProgressLog | None = None,
            checkpoint_every: int = 0) -> Comparison:
    """:func:`run_dataset` for seeds ``0 .. n_seeds - 1`` (streams ``root/tabular/<dataset>/<seed>``)."""
    splits = tabular.load(dataset)
    data = Splits(splits.train.to(device), splits.val.to(device), splits.test.to(device))
    runs = [run_dataset(recipe, dataset, data, root.child("tabular", dataset, s), output_dir, log_z_samples,
                        log_z_repeats, device, log, checkpoint_every) for s in range(n_seeds)]
    nll = np.array([[run.nll[m] for run in runs] for m in METHODS])
    log_z_std = np.array([[run.log_z_std[m] for run in runs] for m in ENERGY_METHODS])
    sizes = (splits.train.shape[0], splits.val.shape[0], splits.test.shape[0])
    return Comparison(dataset, splits.dim, sizes, nll, log_z_std, runs, gaussian_fit_nll(splits.train, splits.test))
