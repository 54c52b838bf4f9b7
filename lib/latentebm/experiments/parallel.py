"""Train several models at once, one per CPU worker process, so that a notebook's training seeds use every core.

Small networks on a CPU gain nothing from a second thread (the kernels are too small to split), but two seeds
trained side by side take the time of one. :func:`train_all` runs jobs, functions that train one model and save
it to the store (each a module-level function bound by :func:`functools.partial`, so that a fresh process can
import it), in ``workers`` spawned processes. Each worker takes the caller's default dtype and one thread. A
model trained in a worker is then bitwise the one a one-thread caller trains itself (a test checks it); with more
threads, some kernels sum in another order and a trained model can differ in its last bits and then further, so
notebooks that use this run on one thread. The caller then loads every model by its store name.

On ``cuda``, or with one worker, the jobs run one after another in the calling process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import torch

from latentebm.runtime import setup

Job = Callable[[], object]


def _start_worker(dtype: torch.dtype) -> None:
    setup(dtype, threads=1)


def train_all(jobs: Sequence[Job], workers: int, device: torch.device | str = "cpu") -> None:
    """Run every job of ``jobs`` (each trains one model and saves it, or finds it saved) in ``workers``
    processes (one after another here when ``workers`` is 1, the device is not the CPU or there is one job).
    A job's exception is raised again here: the jobs not yet started are cancelled, those running finish."""
    if workers <= 1 or torch.device(device).type != "cpu" or len(jobs) <= 1:
        for job in jobs:
            job()
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_start_worker,
                             initargs=(torch.get_default_dtype(),)) as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
