"""Speed benchmarks (``nox -s bench``): never part of the tests. Each prints one line per configuration.

Add a benchmark as a function ``bench_*()`` that prints its own lines; all run in file order.
"""

from __future__ import annotations

import sys
import time

import torch
from latentebm.divergences import fdiv
from latentebm.divergences.variational import Measure, f_dual, fit_critic
from latentebm.models.critics import MLPCritic


def timed(function, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def bench_critic_fit() -> None:
    """L-BFGS fit of an MLP critic to the JS dual: cost against sample size (should grow about linearly)."""
    js = fdiv.get("jensen_shannon")
    for n in (500, 2000, 8000):
        g = torch.Generator().manual_seed(0)
        xs = Measure(torch.randn(n, 2, generator=g, dtype=torch.float64))
        ys = Measure(torch.randn(n, 2, generator=g, dtype=torch.float64) + 0.5)
        seconds = timed(lambda xs=xs, ys=ys: fit_critic(lambda c: f_dual(js, c, xs, ys), MLPCritic(2, 32, 2).double(),
                                                        50))
        print(f"critic fit  n={n:6d}  50 L-BFGS iterations  {seconds:.3f} s  ({seconds / n * 1e6:.1f} us/sample)")


def bench_latent_samplers() -> None:
    """Latent samplers of the registry on the ci image GEBM (base + energy): steps per second for batches of chains.

    Freshly initialised networks of the ci recipe's architecture (the cost per step does not depend on the
    weights). The cost per chain-step should stay about constant as chains x steps grows (linear cost) until
    the device saturates.
    """
    from latentebm.experiments import gebm_images
    from latentebm.models.gebm import build_gebm
    from latentebm.ops import frozen
    from latentebm.runtime import initialised_from, streams
    from latentebm.samplers import chains, registry, schedules
    from latentebm.samplers.potentials import gebm_latent_potential

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = dict(gebm_images.RECIPES["ci"].model)
    with initialised_from(streams(0).child("bench")):
        modules = build_gebm(config)
    print(f"device {device}; weights: freshly initialised ci recipe; latent_dim {config['latent_dim']}")
    base, energy = (frozen(modules[name].float().to(device)) for name in ("base", "energy"))
    potential = gebm_latent_potential(base, energy, beta=100.0)
    options = {"hmc": {"n_leapfrog": 5}}

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for name in ("ula", "mala", "hmc", "kla"):
        sampler = registry.get(name)
        for n_chains, n_steps in ((64, 10), (256, 10), (1024, 10), (1024, 40)):
            rng = torch.Generator(device=device).manual_seed(0)
            z = torch.randn(n_chains, config["latent_dim"], generator=rng, device=device)

            def go(z=z, n_steps=n_steps, rng=rng, name=name) -> None:
                chains.sample(name, z, potential, schedules.constant(1e-3), n_steps, rng, **options.get(name, {}))
                sync()

            seconds = timed(go, repeats=1)
            grads = sampler.grads_per_step(**options.get(name, {}))
            print(f"{sampler.label:5s} chains={n_chains:5d} steps={n_steps:3d}  {n_steps / seconds:8.1f} steps/s  "
                  f"{seconds / (n_chains * n_steps * max(grads, 1)) * 1e6:7.2f} us per chain-gradient")


def bench_particle_flows() -> None:
    """One step of the MMD flow (plain and noise injection) and of the KALE flow (a warm-started smoothie solve)
    against the number of particles m (target of m points): the MMD step costs O(m^2), the KALE step's Newton
    solve O(m^3) per iteration, which is what bounds notebook 09's KALE experiments."""
    from latentebm.particles import flow
    from latentebm.particles import noise as schedules

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for m in (240, 960, 3840):
        g = torch.Generator(device=device).manual_seed(0)
        x = torch.randn(m, 2, generator=g, device=device, dtype=torch.float64)
        y = torch.randn(m, 2, generator=g, device=device, dtype=torch.float64) * 0.5 + 1.0
        rules = {"MMD plain": flow.MMDFlow(x, 0.1), "MMD injection": flow.MMDFlow(x, 0.1, schedules.constant(0.1)),
                 "KALE warm": flow.KALEFlow(x, 0.1, 0.01)}
        for label, rule in rules.items():
            if label.startswith("KALE") and m > 960:
                continue
            state = flow.step(flow.init(y), rule, 1e-3, g)  # the warm start for KALE

            def go(state=state, rule=rule, g=g) -> None:
                flow.step(state, rule, 1e-3, g)
                if device.type == "cuda":
                    torch.cuda.synchronize()

            print(f"{label:14s} m={m:5d}  {timed(go) * 1e3:8.2f} ms per step  ({device})")


def bench_ml_ebm_langevin() -> None:
    """One Langevin step of notebook 10's ensembles (ULA on U = F / (eps^2/2), 100 chains per member) against the
    number of members S: on a CPU the cost is dominated by launching each small operation, so S members should cost
    far less than S times one (why notebook 10 trains every (toy, seed) pair as one ensemble)."""
    from latentebm.models.ensembles import EnsembleMLP
    from latentebm.training.ml_ebm import langevin_chains

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for sizes in ((2, 32, 64, 64, 64, 1), (64, 256, 256, 1)):
        for members in (1, 3, 6, 12):
            energy = EnsembleMLP(members, sizes).to(device)
            x0 = torch.randn(members, 100, sizes[0], device=device)
            rng = torch.Generator().manual_seed(0)

            def go(energy=energy, x0=x0, rng=rng) -> None:
                langevin_chains(energy, x0, 0.01, 50, rng)
                if device.type == "cuda":
                    torch.cuda.synchronize()

            print(f"net {'-'.join(map(str, sizes)):18s} S={members:3d}  {timed(go) / 50 * 1e3:7.3f} ms per step  "
                  f"({device})")


def bench_iwae_step() -> None:
    """One training step of notebook 17's VAE/IWAE (20 latents, 100 hidden, 50 images of 64 pixels) against the
    number of draws k: the cost grows about linearly in k once the batch of k x 50 rows dominates the launch cost,
    which is why the k = 50 runs set the notebook's training time."""
    from latentebm.divergences.importance_weighted import iw_bound
    from latentebm.models.latent_generators import LatentGenerator
    from latentebm.models.vae import Encoder, log_weights

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder, decoder = Encoder(64, 20, 100).to(device), LatentGenerator((20,), 64, 100, output="linear").to(device)
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    x = (torch.rand(50, 64, device=device) < 0.3).float()
    rng = torch.Generator(device=device).manual_seed(0)
    for k in (1, 5, 50, 500):
        def go(k=k) -> None:
            for _ in range(20):
                optimiser.zero_grad()
                (-iw_bound(log_weights(encoder, decoder, x, k, rng)).mean()).backward()
                optimiser.step()
            if device.type == "cuda":
                torch.cuda.synchronize()

        print(f"k={k:4d}  {timed(go) / 20 * 1e3:7.3f} ms per step  ({device})")


def main(selected: list[str]) -> None:
    benches = {name: f for name, f in globals().items() if name.startswith("bench_") and callable(f)}
    for name, function in benches.items():
        if selected and name.removeprefix("bench_") not in selected:
            continue
        print(f"# {name.removeprefix('bench_')}", flush=True)
        function()


if __name__ == "__main__":
    main(sys.argv[1:])
