"""Signing on every core: a process pool behind the ``services.bulk.SignMany`` port.

An adapter beside ``jobs.py``; the composition roots (``cli/``, through
:class:`credstack.jobs.BulkRunner`) decide how many processes to use. Services only see the
``sign_many`` callable: they build the credentials, a pool signs them.

* The pool forks its workers (Linux): they start with this process's memory, so the
  vendored JSON-LD contexts and the loader's caches are warm, and each worker is
  initialised once (it ignores Ctrl-C, which the parent handles, and dies with its parent,
  so that a ``kill -9`` of the runner leaves no orphan holding its pipes).
* A batch is cut into chunks, one task each, so that the workers share it evenly; the
  key travels with each chunk (32 bytes), so one pool serves any organization.
* Small batches, and a pool of one process, sign in this process instead.
* One pool per job run (:class:`credstack.jobs.BulkRunner`): it is created in the thread
  that runs the job and shut down when the run ends. A pool whose worker died is dropped:
  the batch is signed in this process and the next batch starts a new pool.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Final

from credstack.crypto.loader import default_loader
from credstack.services.bulk import Signed, SigningBatch, sign_documents, sign_in_process

#: Documents per task: small enough to balance the workers, large enough that the
#: round trip through the pool is noise.
CHUNK: Final = 50
#: Batches smaller than this are signed in this process (a pool round trip is not worth it).
MIN_POOL_BATCH: Final = 32
_PR_SET_PDEATHSIG: Final = 1


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _worker_init(parent: int) -> None:
    """Run once in each worker: ignore Ctrl-C, die with the parent, warm the loader."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    default_loader()


class SigningPool:
    """``SignMany`` over ``processes`` worker processes (created on first use)."""

    def __init__(self, processes: int, *, chunk: int = CHUNK, min_batch: int = MIN_POOL_BATCH):
        if processes < 1:
            raise ValueError("a signing pool needs at least one process")
        self.processes = processes
        self.chunk = max(1, chunk)
        self.min_batch = min_batch
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context(method),
                initializer=_worker_init,
                initargs=(os.getpid(),),
            )
        return self._executor

    def __call__(self, batch: SigningBatch) -> Callable[[], list[Signed]]:
        documents = list(batch.documents)
        if self.processes < 2 or len(documents) < self.min_batch:
            return sign_in_process(batch)
        # Cut the batch so that every worker gets about the same number of chunks.
        size = min(self.chunk, -(-len(documents) // self.processes))
        chunks = [
            replace(batch, documents=documents[i : i + size])
            for i in range(0, len(documents), size)
        ]
        try:
            futures = self._submit(chunks)
        except BrokenProcessPool:  # a worker died since the last batch: a new pool
            self._discard()
            futures = self._submit(chunks)

        def results() -> list[Signed]:
            try:
                return [signed for future in futures for signed in future.result()]
            except BrokenProcessPool:  # a worker died (killed, out of memory): sign here
                self._discard()
                return sign_documents(batch)

        return results

    def _submit(self, chunks: list[SigningBatch]) -> list[Future[list[Signed]]]:
        pool = self._pool()
        return [pool.submit(sign_documents, chunk) for chunk in chunks]

    def _discard(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> SigningPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
