"""Executors: serial, a local process pool (the default) and Dask distributed.

All take the same thing, a :class:`~sim.experiment.worker.Job` and a list of
chunks of tasks, and yield the records of each chunk as it completes (in any
order; the store sorts by ``run_id``).  At most ``2 x workers`` chunks are in
flight, so results stream to disk and an interruption loses little work.

Results do not depend on the executor or the number of workers: each run is a
pure function of its scenario and seed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sim.experiment.spec import ExperimentError
from sim.experiment.worker import Job, Task, run_chunk

Records = list[dict[str, Any]]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)  # fmt: skip


class Executor:
    """Base: serial, in this process."""

    name = "serial"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def imap(self, job: Job, chunks: Iterable[list[Task]]) -> Iterator[Records]:
        for chunk in chunks:
            yield run_chunk(job, chunk)


def _init_worker(parent: int) -> None:
    """Pool worker set-up: Ctrl-C reaches the whole process group but only the
    parent handles it; and a worker exits when its parent is gone (``kill -9``
    of the sweep), instead of lingering as an orphan."""
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


class ProcessExecutor(Executor):
    """A local pool of worker processes (spawned once, reused for every chunk)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        super().__init__(workers)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                        initializer=_init_worker, initargs=(os.getpid(),))  # fmt: skip

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def imap(self, job: Job, chunks: Iterable[list[Task]]) -> Iterator[Records]:
        from concurrent.futures import FIRST_COMPLETED, wait

        it = iter(chunks)
        pending: set = set()
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    chunk = next(it, None)
                    if chunk is None:
                        break
                    pending.add(self.pool.submit(run_chunk, job, chunk))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()


class DaskExecutor(Executor):
    """Dask distributed: a local cluster of ``workers`` processes, or the
    cluster at ``scheduler`` (``tcp://host:8786``, e.g. from dask-jobqueue)."""

    name = "dask"

    def __init__(self, workers: int, scheduler: str | None = None, timeout: float = 10.0) -> None:
        import logging

        from distributed import Client, LocalCluster

        super().__init__(workers)
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExperimentError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler ({type(exc).__name__})") from None  # fmt: skip
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {}))) or workers
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
            self.client = Client(self.cluster)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def imap(self, job: Job, chunks: Iterable[list[Task]]) -> Iterator[Records]:
        from distributed import as_completed

        it = iter(chunks)
        [job_f] = self.client.scatter([job], broadcast=True)
        ac = as_completed()
        n = 0
        for chunk in it:
            ac.add(self.client.submit(run_chunk, job_f, chunk, pure=False))
            n += 1
            if n >= 2 * self.workers:
                break
        try:
            for fut in ac:
                yield fut.result()
                nxt: list[Task] | None = next(it, None)
                if nxt is not None:
                    ac.add(self.client.submit(run_chunk, job_f, nxt, pure=False))
        finally:
            for fut in list(ac.futures):
                fut.cancel()


def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """Start an executor (for dask: connect; an unreachable scheduler raises
    :class:`ExperimentError` before anything runs)."""
    w = workers or default_workers()
    if name == "serial":
        return Executor(1)
    if name == "processes":
        return ProcessExecutor(w)
    if name == "dask":
        return DaskExecutor(w, scheduler)
    raise ExperimentError(f"--executor: unknown executor {name!r}")
