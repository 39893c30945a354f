"""A spawned worker pool whose workers die with the process that started them.

A ``kill -9`` of ``dj ingest`` gives its pool no chance to shut down: without help its workers
(hundreds of MB each) keep running under PID 1 until their queue runs dry. Each worker therefore
asks the Linux kernel to SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and checks
that the parent it was spawned for is still its parent (it may have died during the spawn). Where
``prctl`` is not available a daemon thread polls the parent pid instead.

Workers are spawned (no fork of a process holding Dagster's threads), each limited to one BLAS
thread so they do not oversubscribe cores. The kernel's parent-death signal follows the *thread*
that spawned a worker; the pool is always started and used by one caller thread, which outlives it.

Inside :func:`keep_workers` (one ``dj ingest``) the stages of a batch share one pool instead of
spawning their own: a spawned worker pays seconds of imports (librosa, its numba kernels, the
embedder) before its first track, and a batch has six per-track stages.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_S = 1.0  # how often the fallback watch thread looks at the parent pid


def spawn_map(fn: Callable[..., Any], arg_lists: list[list[Any]], n_workers: int, chunksize: int = 1) -> list[Any]:
    """``[fn(*args) for args in zip(*arg_lists)]`` in ``n_workers`` spawned processes (one BLAS
    thread each), results in input order. ``fn`` must be picklable (a module-level function)."""
    with _pool(n_workers) as pool:
        return list(pool.map(fn, *arg_lists, chunksize=chunksize))


def spawn_iter(fn: Callable[..., Any], arg_lists: list[list[Any]], n_workers: int) -> Iterator[tuple[int, Any]]:
    """``(i, fn(*args_i))`` as each call finishes (not in input order), in spawned processes.

    At most ``2 * n_workers`` calls are queued at a time, so a caller that records each result as it
    arrives loses at most the calls in flight when it is killed.
    """
    calls = list(zip(*arg_lists))
    with _borrow_pool(n_workers) as pool:
        pending: dict[Any, int] = {}
        next_i = 0
        while next_i < len(calls) or pending:
            while next_i < len(calls) and len(pending) < 2 * n_workers:
                pending[pool.submit(fn, *calls[next_i])] = next_i
                next_i += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=pending.__getitem__):
                yield pending.pop(fut), fut.result()


class _Shared:
    """The pool :func:`keep_workers` keeps: which thread may use it, and the pool itself."""

    depth = 0
    thread: int | None = None
    pool: ProcessPoolExecutor | None = None
    n_workers = 0


@contextmanager
def keep_workers() -> Iterator[None]:
    """Let every :func:`spawn_iter` of this thread inside the block reuse one worker pool.

    Nested blocks share the outer one; the pool is shut down when the outermost block ends. Other
    threads get a pool of their own per call, as outside the block (a worker's parent-death
    signal follows the thread that spawned it).
    """
    if _Shared.depth and _Shared.thread != threading.get_ident():
        yield
        return
    _Shared.depth += 1
    _Shared.thread = threading.get_ident()
    try:
        yield
    finally:
        _Shared.depth -= 1
        if _Shared.depth == 0:
            _drop_shared_pool()
            _Shared.thread = None


@contextmanager
def _borrow_pool(n_workers: int) -> Iterator[ProcessPoolExecutor]:
    """The kept pool when one may be kept here (a broken one is replaced), else a private one."""
    if not _Shared.depth or _Shared.thread != threading.get_ident():
        with _pool(n_workers) as pool:
            yield pool
        return
    if _Shared.pool is None or _Shared.n_workers != n_workers or getattr(_Shared.pool, "_broken", False):
        _drop_shared_pool()
        _Shared.pool, _Shared.n_workers = _pool(n_workers), n_workers
    try:
        yield _Shared.pool
    except BaseException:
        _drop_shared_pool()  # a failed or interrupted stage leaves calls in flight: do not hand them on
        raise


def _drop_shared_pool() -> None:
    """Shut the kept pool down without waiting for its workers to exit (their interpreters take
    most of a second to tear down, which the caller's next step overlaps; the executor joins them)."""
    pool, _Shared.pool, _Shared.n_workers = _Shared.pool, None, 0
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _pool(n_workers: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),))


def _init_worker(parent_pid: int) -> None:
    die_with_parent(parent_pid)
    _limit_threads()


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` (its parent) dies, however it dies."""
    if not _set_parent_death_signal():
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="dj-parent-watch").start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _set_parent_death_signal() -> bool:
    """``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes; ``False`` where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _limit_threads() -> None:
    """One BLAS/OpenMP thread per worker process: parallelism comes from the processes."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
