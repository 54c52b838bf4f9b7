"""The VAEs and IWAEs of notebook 17 (seed 003; Burda, Grosse & Salakhutdinov, ICLR 2016, table 1).

One recipe per (objective, k): the IWAE paper's one-stochastic-layer model on dynamically binarised digits. In
``full``: 50 latents on MNIST with Adam at 1e-3, but one hidden layer of 200 each way (the decoder of
:class:`latentebm.models.latent_generators.LatentGenerator`; the paper: two) and a constant learning rate for
300,000 steps of 20 images, about 100 passes (the paper: 3^i passes at 1e-3 * 10^(-i/7) for i = 0..7, 3,280
passes in all); in ``ci``
scikit-learn's 8x8 digits (1,500 train, 297 test), 20 latents, 100 hidden units, 2,000 steps of 50 images. Test
log-likelihood by the IW bound at a large k (the paper: 5,000; ``ci``: 1,000).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from latentebm.data.images import binarise, digits_8x8, mnist
from latentebm.experiments import Trained, checkpoint_path, digest, train_or_load
from latentebm.models.latent_generators import LatentGenerator
from latentebm.models.vae import Encoder
from latentebm.runtime import Stream, default_dtype, initialised_from
from latentebm.training.iwae import IWConfig, active_units, test_log_likelihood, train_iw
from latentebm.training.loop import ProgressLog, log_file

DTYPE = torch.float32
RUNS = (("vae", 1), ("vae", 5), ("vae", 50), ("iwae", 5), ("iwae", 50), ("vae_analytic_kl", 1))
"""(objective, k) of the paper's table (the IWAE at k = 1 is the VAE at k = 1), and the VAE with its KL in closed
form, the usual estimator"""
LATENT_UNITS = {"ci": 20, "full": 50}
PAPER_KS = (1, 5, 50)
PAPER_NLL = {"VAE": (86.76, 86.47, 86.35), "IWAE": (86.76, 85.54, 84.78)}
"""Burda et al., table 1: test NLL on MNIST, one stochastic layer, k = 1 / 5 / 50 (the k = 1 model is shared)"""


@dataclass(frozen=True)
class IWRecipe:
    """One run: its training config, data, latent units and hidden units (every value set by :func:`recipe`)."""

    train: IWConfig
    dataset: str
    """"digits" (scikit-learn's 8x8) or "mnist" (the full set, downloaded)"""
    latent: int
    hidden: int


def recipe(profile: str, objective: str, k: int, *, steps: int | None = None) -> IWRecipe:
    """The run of ``objective`` with ``k`` draws in ``profile`` (``steps`` overrides the recipe's)."""
    ci = profile == "ci"
    train = IWConfig(objective=objective, k=k, steps=2000 if ci else 300000, batch_size=50 if ci else 20,
                     lr=1e-3, checkpoint_every=0 if ci else 10000)
    if steps is not None:
        train = replace(train, steps=steps)
    return IWRecipe(train, "digits" if ci else "mnist", LATENT_UNITS[profile], 100 if ci else 200)


def intensities(dataset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) intensities in [0, 1], flat: digits split 1,500 / 297 (fixed order), or MNIST's own split."""
    if dataset == "digits":
        x = (digits_8x8()[0].reshape(1797, -1) + 1) / 2
        return x[:1500], x[1500:]
    if dataset == "mnist":
        return ((mnist("train")[0].reshape(60000, -1) + 1) / 2, (mnist("test")[0].reshape(10000, -1) + 1) / 2)
    raise ValueError(f"dataset must be 'digits' or 'mnist', got {dataset!r}")


def test_set(dataset: str, streams: Stream) -> torch.Tensor:
    """The test images binarised once, from the stream ``test_binarisation`` (the same for every run)."""
    return binarise(intensities(dataset)[1], streams.child("test_binarisation").torch())


def run_stream(r: IWRecipe, streams: Stream) -> Stream:
    """The run's own stream (its minibatches, binarisations and draws) below the seed's ``streams``."""
    return streams.child("iw_autoencoders", r.train.objective, r.train.k)


def init_stream(streams: Stream) -> Stream:
    """The initial networks: one per seed, shared by every (objective, k), so that runs of a seed are paired."""
    return streams.child("iw_autoencoders", "init")


def train_or_load_iw(r: IWRecipe, streams: Stream, output_dir: Path | str,
                     log: ProgressLog | None = None) -> Trained:
    """The run's {"encoder", "decoder"} (CPU, float32), trained or loaded; info {"trace"}."""
    stream = run_stream(r, streams)
    x_train = intensities(r.dataset)[0]

    def build(rec: IWRecipe) -> dict:
        with initialised_from(init_stream(streams)):
            return {"encoder": Encoder(x_train.shape[1], rec.latent, rec.hidden),
                    "decoder": LatentGenerator((rec.latent,), x_train.shape[1], rec.hidden, output="linear")}

    def train(modules: dict) -> dict:
        checkpoint = checkpoint_path(output_dir, f"iw-{digest(r, stream)}", r.train.checkpoint_every)
        trace = train_iw(modules["encoder"], modules["decoder"], x_train, r.train, stream.child("loop").torch(),
                         log, checkpoint)
        return {"trace": trace[::10]}

    with default_dtype(DTYPE):
        return train_or_load("iw", r, stream, output_dir, build, train)


def train_job(r: IWRecipe, streams: Stream, output_dir: Path | str, log_path: Path | str | None = None) -> None:
    """Train (or find saved) one run: a job for :func:`latentebm.experiments.parallel.train_all`."""
    with log_file(log_path, every=500, prefix=f"{r.train.objective} k={r.train.k} {streams} ") as log:
        train_or_load_iw(r, streams, output_dir, log)


def score_runs(recipes: Mapping[tuple[str, int], IWRecipe], seeds: Sequence[Stream], output_dir: Path | str,
               x_test: torch.Tensor, k_eval: int, evaluation: Stream) -> dict[str, dict[tuple[str, int], np.ndarray]]:
    """Load every (run, seed) and score it: ``{"nll" | "neg_elbo" | "active_units": {run: (seeds,)}}``. Every run
    of a seed is scored with the same draws (``evaluation.child(i)``), the seeds with different ones."""
    scores = {run: [evaluate(train_or_load_iw(r, s, output_dir), x_test, k_eval, evaluation.child(i).torch())
                    for i, s in enumerate(seeds)] for run, r in recipes.items()}
    return {key: {run: np.array([score[key] for score in scores[run]]) for run in recipes}
            for key in ("nll", "neg_elbo", "active_units")}


def paper_rows(values: Mapping[tuple[str, int], np.ndarray]) -> dict[str, np.ndarray]:
    """One score per run (``{run: (seeds,)}``) laid out as the paper's table: ``{"VAE" | "IWAE": (seeds, 3)}`` at
    k = 1, 5, 50, the IWAE's k = 1 column being the VAE's k = 1 run (the same objective)."""
    return {"VAE": np.stack([values[("vae", k)] for k in PAPER_KS], 1),
            "IWAE": np.stack([values[("vae", 1)], values[("iwae", 5)], values[("iwae", 50)]], 1)}


def evaluate(trained: Trained, x_test: torch.Tensor, k_eval: int, rng: torch.Generator) -> dict[str, float]:
    """Test NLL (nats, the IW bound at ``k_eval``), the test ELBO and the active units of one trained run."""
    encoder, decoder = trained.modules["encoder"], trained.modules["decoder"]
    nll = -test_log_likelihood(encoder, decoder, x_test, k_eval, rng).mean()
    elbo = test_log_likelihood(encoder, decoder, x_test, 1, rng).mean()
    return {"nll": float(nll), "neg_elbo": float(-elbo), "active_units": active_units(encoder, x_test)}
