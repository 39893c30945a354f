"""The kept worker pool: the stages of one ingest share warm workers; other threads, a broken pool
and the end of the block are handled."""

import os
import signal
import threading
from concurrent.futures.process import BrokenProcessPool

import pytest

from dj_pipeline.stages.pool import keep_workers, spawn_iter


def _pid(_: int) -> int:
    return os.getpid()


def _die(_: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def _pids(n: int = 4) -> set[int]:
    return {pid for _, pid in spawn_iter(_pid, [list(range(n))], 2)}


def test_calls_inside_the_block_share_workers_and_outside_do_not():
    with keep_workers():
        first, second = _pids(), _pids()
        with keep_workers():  # nested: the same pool
            third = _pids()
    kept = first | second | third
    assert len(kept) <= 2 and os.getpid() not in kept  # never more workers than the one pool of 2
    assert _pids().isdisjoint(kept)  # after the block: a new pool, the kept one was shut down


def test_another_thread_gets_its_own_pool():
    seen: list[set[int]] = []
    with keep_workers():
        mine = _pids()
        t = threading.Thread(target=lambda: seen.append(_pids()))
        t.start()
        t.join()
        mine |= _pids()
    assert len(mine) <= 2
    assert seen and seen[0].isdisjoint(mine)


def test_a_broken_pool_is_replaced_for_the_next_stage():
    with keep_workers():
        before = _pids()
        with pytest.raises(BrokenProcessPool):
            list(spawn_iter(_die, [[0, 1]], 2))
        after = _pids()
    assert after and after.isdisjoint(before)  # the dead pool's workers are gone
