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
    torch.set_default_dtype(torch.float64)
    js = fdiv.get("jensen_shannon")
    for n in (500, 2000, 8000):
        g = torch.Generator().manual_seed(0)
        xs, ys = Measure(torch.randn(n, 2, generator=g)), Measure(torch.randn(n, 2, generator=g) + 0.5)
        seconds = timed(lambda xs=xs, ys=ys: fit_critic(lambda c: f_dual(js, c, xs, ys), MLPCritic(2, 32, 2), 50))
        print(f"critic fit  n={n:6d}  50 L-BFGS iterations  {seconds:.3f} s  ({seconds / n * 1e6:.1f} us/sample)")


def bench_latent_samplers() -> None:
    """Latent samplers on the MNIST GEBM (generator + energy): steps per second for batches of chains.

    Weights come from notebook 05's checkpoint in build/ci/models when present; otherwise freshly initialised
    networks of the same architecture (same cost per step). The cost per chain-step should stay about
    constant as chains x steps grows (linear cost) until the device saturates.
    """
    from latentebm import paths
    from latentebm.models.gebm import build_gebm
    from latentebm.models.reuse import frozen
    from latentebm.models.store import load_model
    from latentebm.samplers import chains, hmc, langevin, schedules
    from latentebm.samplers.potentials import gebm_latent_potential
    from latentebm.training.gebm import MNIST_CI_MODEL

    torch.set_default_dtype(torch.float32)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    loaded = load_model(paths.resolve("build/ci"), "05_gebm_mnist", build_gebm)
    modules, config = loaded if loaded is not None else (build_gebm(MNIST_CI_MODEL), MNIST_CI_MODEL)
    source = "notebook 05's checkpoint" if loaded is not None else "freshly initialised (no checkpoint in build/ci)"
    print(f"device {device}; weights: {source}; latent_dim {config['latent_dim']}")
    generator_net, energy = (frozen(modules[name].to(device)) for name in ("generator", "energy"))
    potential = gebm_latent_potential(generator_net, energy, beta=100.0)
    samplers = {"ULA": (langevin.init, langevin.ula_step, {}), "MALA": (langevin.init, langevin.mala_step, {}),
                "HMC(L=5)": (langevin.init, hmc.hmc_step, {"n_leapfrog": 5}), "KLA": (None, langevin.kla_step, {})}

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for name, (init, step, kwargs) in samplers.items():
        for n_chains, n_steps in ((64, 10), (256, 10), (1024, 10), (1024, 40)):
            g = torch.Generator(device=device).manual_seed(0)
            z = torch.randn(n_chains, config["latent_dim"], generator=g, device=device)
            state = langevin.init_kinetic(z, potential, g) if init is None else init(z, potential)

            def go(state=state, step=step, kwargs=kwargs, n_steps=n_steps, g=g) -> None:
                chains.run(step, state, potential, schedules.constant(1e-3), n_steps, g, **kwargs)
                sync()

            seconds = timed(go, repeats=1)
            print(f"{name:9s} chains={n_chains:5d} steps={n_steps:3d}  {n_steps / seconds:8.1f} steps/s  "
                  f"{seconds / (n_chains * n_steps) * 1e6:7.2f} us per chain-step")


def main(selected: list[str]) -> None:
    benches = {name: f for name, f in globals().items() if name.startswith("bench_") and callable(f)}
    for name, function in benches.items():
        if selected and name.removeprefix("bench_") not in selected:
            continue
        print(f"# {name.removeprefix('bench_')}", flush=True)
        function()


if __name__ == "__main__":
    main(sys.argv[1:])
