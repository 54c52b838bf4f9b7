"""Independent check of notebook 17 (VAE vs IWAE, Burda et al. 2016) against pythae's IWAE and VAE.

pythae (0.1.2) is not a project dependency; run with it on the path, e.g.::

    source .nox/tests/bin/activate
    PYTHONPATH=/tmp/pythae/pkgs python scripts/pythae_iwae.py

For each (objective, k) of the check and each seed this trains

- pythae's ``IWAE`` (``number_samples=k``, ``reconstruction_loss="bce"``) or ``VAE`` with custom encoder/decoder of
  the same architecture as ours (encoder ``Linear(64, h)-Softplus-Linear(h, 2d)`` split into mean and
  log-variance, the log-variance clamped to [-12, 6] as our :class:`latentebm.models.vae.Encoder` does; decoder
  ``Linear(d, h)-Softplus-Linear(h, 64)-Sigmoid``, since pythae's bce takes probabilities), by a manual Adam loop on
  ``model({"data": x}).loss`` with the recipe's steps, batch and lr and a dynamic binarisation per step;
- our implementation, :func:`latentebm.experiments.iw_autoencoders.train_or_load_iw` with the ``ci`` recipe and the
  root stream ``streams(seed)``;

and evaluates both with OUR estimators (:func:`latentebm.experiments.iw_autoencoders.evaluate`: the IW bound at
k = 1000 on the shared binarised test set, the test ELBO, active units); the pythae decoder gives our estimator its
pre-sigmoid logits. A gradient check first compares pythae's IWAE loss gradient with ours on the same networks,
batch and draws. Writes ``reports/checks/pythae_iwae.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import types
from importlib.metadata import version
from pathlib import Path

import torch
from latentebm.divergences.importance_weighted import iw_bound
from latentebm.experiments import iw_autoencoders as iw
from latentebm.models.vae import log_weights
from latentebm.runtime import streams
from pythae.models import IWAE, VAE, IWAEConfig, VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
RUNS = (("vae", 1), ("iwae", 1), ("iwae", 5), ("iwae", 50))
"""pythae's runs; its VAE takes its KL in closed form, its IWAE at k = 1 is the fully sampled ELBO"""
OURS = {("vae", 1): ("vae_analytic_kl", 1), ("iwae", 1): ("vae", 1)}
"""our run with the same objective as a pythae run, where the names differ (the rest: the same name)"""
K_EVAL = 1000


class PyEncoder(BaseEncoder):
    """Our encoder's architecture as a pythae encoder: ``ModelOutput(embedding, log_covariance)``."""

    def __init__(self, x_dim: int, z_dim: int, hidden: int) -> None:
        BaseEncoder.__init__(self)
        self.net = nn.Sequential(nn.Linear(x_dim, hidden), nn.Softplus(), nn.Linear(hidden, 2 * z_dim))

    def forward(self, x: torch.Tensor) -> ModelOutput:
        mean, log_variance = self.net(x).chunk(2, dim=1)
        return ModelOutput(embedding=mean, log_covariance=log_variance.clamp(-12.0, 6.0))


class PyDecoder(BaseDecoder):
    """Our decoder's architecture with a sigmoid output (pythae's bce takes probabilities)."""

    def __init__(self, z_dim: int, x_dim: int, hidden: int) -> None:
        BaseDecoder.__init__(self)
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.Softplus(), nn.Linear(hidden, x_dim))

    def forward(self, z: torch.Tensor) -> ModelOutput:
        return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))


class AsOurEncoder(nn.Module):
    """A pythae encoder seen as ours: ``x -> (mean, log_variance)``."""

    def __init__(self, inner: PyEncoder) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.inner(x)
        return out.embedding, out.log_covariance


class AsOurDecoder(nn.Module):
    """A pythae decoder seen as ours: ``z -> Bernoulli logits`` (its pre-sigmoid layer)."""

    def __init__(self, inner: PyDecoder) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.inner.net(z)


def build_pythae(objective: str, k: int, x_dim: int, latent: int, hidden: int) -> nn.Module:
    encoder, decoder = PyEncoder(x_dim, latent, hidden), PyDecoder(latent, x_dim, hidden)
    if objective == "iwae":
        config = IWAEConfig(input_dim=(x_dim,), latent_dim=latent, number_samples=k, reconstruction_loss="bce")
        return IWAE(config, encoder=encoder, decoder=decoder)
    if k != 1:
        raise ValueError("pythae's VAE draws one latent per example; the check runs it at k = 1 only")
    return VAE(VAEConfig(input_dim=(x_dim,), latent_dim=latent, reconstruction_loss="bce"), encoder=encoder,
               decoder=decoder)


def train_pythae(objective: str, k: int, seed: int, x_train: torch.Tensor, r: iw.IWRecipe) -> tuple[nn.Module, list]:
    """pythae's model trained by its own loss: init and its reparameterisation draws from the global torch stream
    seeded with ``seed``, minibatches and binarisation from a generator seeded with ``seed``."""
    torch.manual_seed(seed)
    model = build_pythae(objective, k, x_train.shape[1], r.latent, r.hidden)
    model.train()
    rng = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=r.train.lr)
    trace = []
    for _ in range(r.train.steps):
        idx = torch.randint(len(x_train), (r.train.batch_size,), generator=rng)
        p = x_train[idx]
        x = (torch.rand(p.shape, generator=rng, dtype=p.dtype) < p).to(p.dtype)
        optimiser.zero_grad()
        loss = model({"data": x}).loss
        loss.backward()
        optimiser.step()
        trace.append(loss.item())
        if not math.isfinite(trace[-1]):
            raise FloatingPointError(f"pythae {objective} k={k} seed {seed}: non-finite loss")
    return model.eval(), trace


def gradient_check(k: int, x_train: torch.Tensor, r: iw.IWRecipe) -> dict:
    """pythae's IWAE loss vs ours (``-iw_bound(log_weights).mean()``) on the same networks, batch and draws: the
    largest gradient difference relative to the largest gradient, and the two loss values."""
    torch.manual_seed(1234)
    model = build_pythae("iwae", k, x_train.shape[1], r.latent, r.hidden)
    g = torch.Generator().manual_seed(99)
    p = x_train[torch.randint(len(x_train), (r.train.batch_size,), generator=g)]
    x = (torch.rand(p.shape, generator=g) < p).float()
    g.manual_seed(7)
    eps = torch.randn((k, len(x), r.latent), generator=g)
    eps_bk = eps.transpose(0, 1)
    model._sample_gauss = lambda mu, std: (mu + eps_bk * std, eps_bk)  # pythae's draws := ours
    params = list(model.parameters())
    loss_pythae = model({"data": x}).loss
    grads_pythae = torch.autograd.grad(loss_pythae, params)
    g.manual_seed(7)
    loss_ours = -iw_bound(log_weights(AsOurEncoder(model.encoder), AsOurDecoder(model.decoder), x, k, g)).mean()
    grads_ours = torch.autograd.grad(loss_ours, params)
    scale = max(float(a.abs().max()) for a in grads_ours)
    diff = max(float((a - b).abs().max()) for a, b in zip(grads_pythae, grads_ours, strict=True))
    return {"k": k, "max_abs_grad_diff_over_max_grad": diff / scale, "loss_pythae": float(loss_pythae.detach()),
            "loss_ours_neg_iw_bound": float(loss_ours.detach()),
            "note": "pythae's loss value is -sum_i w~_i log w_i (w~ detached), not -L_k; gradients agree"}


def summary(rows: list[dict]) -> dict:
    out = {}
    for key in ("nll", "neg_elbo", "active_units"):
        values = [row[key] for row in rows]
        out[key] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps (smoke tests only)")
    parser.add_argument("--ours-dir", default="/tmp/pythae/ours")
    parser.add_argument("--out", default=str(ROOT / "reports" / "checks" / "pythae_iwae.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()

    x_train, _ = iw.intensities("digits")
    x_test = iw.test_set("digits", streams(0))
    recipes = {(obj, k): iw.recipe("ci", obj, k, steps=args.steps) for obj, k in RUNS}
    ours_recipes = {run: iw.recipe("ci", *OURS.get(run, run), steps=args.steps) for run in RUNS}
    checks = [gradient_check(k, x_train, recipes[("iwae", k)]) for k in (5, 50)]

    results = {}
    for (obj, k), r in recipes.items():
        ours_recipe = ours_recipes[(obj, k)]
        if r.dataset != "digits":
            raise ValueError(f"the check expects the digits ci recipe, got {r.dataset}")
        entry = {"recipe": {"latent": r.latent, "hidden": r.hidden, "steps": r.train.steps,
                            "batch_size": r.train.batch_size, "lr": r.train.lr},
                 "ours_objective": f"{ours_recipe.train.objective} k={ours_recipe.train.k}", "pythae": [], "ours": []}
        for seed in args.seeds:
            t0 = time.perf_counter()
            model, trace = train_pythae(obj, k, seed, x_train, r)
            t1 = time.perf_counter()
            pair = types.SimpleNamespace(modules={"encoder": AsOurEncoder(model.encoder),
                                                  "decoder": AsOurDecoder(model.decoder)})
            ev = iw.evaluate(pair, x_test, K_EVAL, streams(seed).child("pythae_check", "eval").torch())
            entry["pythae"].append({"seed": seed, **ev, "train_loss_last_100": statistics.fmean(trace[-100:]),
                                    "train_s": t1 - t0, "eval_s": time.perf_counter() - t1})
            t0 = time.perf_counter()
            trained = iw.train_or_load_iw(ours_recipe, streams(seed), args.ours_dir)
            t1 = time.perf_counter()
            ev = iw.evaluate(trained, x_test, K_EVAL, streams(seed).child("pythae_check", "eval").torch())
            entry["ours"].append({"seed": seed, **ev, "origin": trained.origin, "train_s": t1 - t0,
                                  "eval_s": time.perf_counter() - t1})
            print(f"{obj} k={k} seed {seed}: pythae nll {entry['pythae'][-1]['nll']:.3f}, "
                  f"ours nll {entry['ours'][-1]['nll']:.3f} ({trained.origin})", flush=True)
        entry["pythae_summary"], entry["ours_summary"] = summary(entry["pythae"]), summary(entry["ours"])
        gaps = [a["nll"] - b["nll"] for a, b in zip(entry["pythae"], entry["ours"], strict=True)]
        sd_p, sd_o = entry["pythae_summary"]["nll"]["sd"], entry["ours_summary"]["nll"]["sd"]
        entry["nll_gap_pythae_minus_ours"] = {
            "mean": statistics.fmean(gaps), "per_seed": gaps,
            "se_unpaired": math.sqrt((sd_p**2 + sd_o**2) / len(gaps))}
        results[f"{obj}_k{k}"] = entry

    report = {
        "what": "notebook 17 (VAE vs IWAE) against pythae's IWAE/VAE, same architecture, data and recipe; both "
                "evaluated with our estimators",
        "how_it_was_run": (
            f"PYTHONPATH=/tmp/pythae/pkgs python scripts/pythae_iwae.py (seeds {args.seeds}); torch 1 thread; "
            "digits 8x8, train first 1500 binarised per step, test last 297 binarised once "
            "(iw_autoencoders.test_set('digits', streams(0))); pythae: manual Adam loop on model({'data': x}).loss, "
            "torch.manual_seed(seed) for init and its draws, Generator(seed) for batches; ours: train_or_load_iw("
            "recipe('ci', obj, k), streams(seed)); eval: iw_autoencoders.evaluate at k=1000 (NLL), k=1 (neg ELBO), "
            "active units > 1e-2, eval stream streams(seed).child('pythae_check','eval') for both"),
        "k_eval": K_EVAL, "seeds": args.seeds, "steps_override": args.steps,
        "versions": {"pythae": version("pythae"), "torch": torch.__version__},
        "gradient_check": checks, "runs": results, "wall_s": time.perf_counter() - start,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\n{'run':<10} {'impl':<7} {'NLL':>16} {'neg ELBO':>16} {'active':>10}")
    for name, entry in results.items():
        for impl in ("pythae", "ours"):
            s = entry[f"{impl}_summary"]
            print(f"{name:<10} {impl:<7} {s['nll']['mean']:9.3f} ± {s['nll']['sd']:4.2f} "
                  f"{s['neg_elbo']['mean']:9.3f} ± {s['neg_elbo']['sd']:4.2f} "
                  f"{s['active_units']['mean']:5.1f} ± {s['active_units']['sd']:3.1f}")
        gap = entry["nll_gap_pythae_minus_ours"]
        print(f"{'':<10} gap     {gap['mean']:+9.3f} (per seed {', '.join(f'{g:+.3f}' for g in gap['per_seed'])})")
    for c in checks:
        print(f"gradient check k={c['k']}: max |grad diff| / max |grad| = {c['max_abs_grad_diff_over_max_grad']:.2e}")
    print(f"wall {report['wall_s']:.0f} s -> {out}")


if __name__ == "__main__":
    main()
