"""The one NUTS wrapper of the package: numpyro's No-U-Turn sampler [1] on a jax potential, as a reference
posterior for the torch samplers (notebooks 06 and 08).

``run_nuts(U, init, n_warmup, n_samples, seed)`` draws from exp(-U) with ``U: (d,) -> ()`` written in jax,
several chains vectorised on jax's CPU backend, the step size and a diagonal mass matrix adapted in the
warm-up. The seed is an explicit integer (e.g. ``Stream.int_seed()``, all 63 bits used) or a jax key;
nothing global is drawn from. Convergence diagnostics of the draws come from arviz through
:mod:`latentebm.samplers.diagnostics`.

References:
[1] Hoffman & Gelman (2014), The No-U-Turn sampler. JMLR 15.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentebm.samplers import diagnostics


@dataclass(frozen=True)
class NUTSDraws:
    """``draws: (T, C, d)`` (float64) from NUTS, the mean number of leapfrog steps (= gradients) per draw, and
    the number of divergent transitions after warm-up."""

    draws: np.ndarray
    gradients_per_draw: float
    divergences: int

    def summary(self) -> dict[str, float]:
        """arviz diagnostics over the coordinates: the largest split R-hat, the smallest bulk and tail ESS, and
        the divergences."""
        return {"r_hat_max": float(diagnostics.rhat(self.draws).max()),
                "ess_bulk_min": float(diagnostics.ess(self.draws, method="bulk").min()),
                "ess_tail_min": float(diagnostics.ess(self.draws, method="tail").min()),
                "divergences": int(self.divergences)}


def jax_key(seed: int | Any):
    """A jax PRNG key from an integer seed in [0, 2**64), using all its bits (``jax.random.PRNGKey`` keeps only
    the low 32 unless jax runs in 64-bit mode); a jax key passes through unchanged."""
    import jax.numpy as jnp

    if not isinstance(seed, int | np.integer):
        return seed
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"a NUTS seed is a whole number in [0, 2**64), got {seed}")
    return jnp.asarray(np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32))


def run_nuts(potential_fn: Callable, init: np.ndarray, n_warmup: int, n_samples: int, seed: int | Any) -> NUTSDraws:
    """Draws from exp(-U) by numpyro's NUTS [1]; ``init: (C, d)`` starts C chains -> draws ``(n_samples, C, d)``.

    ``potential_fn`` is U for one point, ``(d,) -> ()``, in jax (float32). numpyro's own warnings are silenced
    (nothing may reach a notebook's output).
    """
    import jax.numpy as jnp

    with warnings.catch_warnings():
        # numpyro imports tqdm.auto, which warns (TqdmWarning) when ipywidgets is absent; no progress bar is used
        warnings.simplefilter("ignore")
        from numpyro.infer import MCMC, NUTS

        init = np.asarray(init)
        mcmc = MCMC(NUTS(potential_fn=potential_fn), num_warmup=n_warmup, num_samples=n_samples,
                    num_chains=init.shape[0], chain_method="vectorized", progress_bar=False)
        mcmc.run(jax_key(seed), init_params=jnp.asarray(init, dtype=jnp.float32),
                 extra_fields=("num_steps", "diverging"))
    samples = np.asarray(mcmc.get_samples(group_by_chain=True), dtype=np.float64)  # (C, T, d)
    extra = mcmc.get_extra_fields()
    return NUTSDraws(samples.transpose(1, 0, 2), float(np.asarray(extra["num_steps"], dtype=np.float64).mean()),
                     int(np.asarray(extra["diverging"]).sum()))
