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


def main(selected: list[str]) -> None:
    benches = {name: f for name, f in globals().items() if name.startswith("bench_") and callable(f)}
    for name, function in benches.items():
        if selected and name.removeprefix("bench_") not in selected:
            continue
        print(f"# {name.removeprefix('bench_')}", flush=True)
        function()


if __name__ == "__main__":
    main(sys.argv[1:])
