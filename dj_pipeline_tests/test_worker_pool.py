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


def _cache_folder(_: int) -> str | None:
    from dj_pipeline.audio.decode_cache import active_cache

    cache = active_cache(11025)
    return str(cache.folder) if cache is not None else None


def _imported(_: int) -> bool:
    import sys

    return "librosa.feature" in sys.modules


def _import_librosa_feature() -> None:
    import librosa.feature  # noqa: F401


def test_workers_warmed_before_a_batch_share_the_pool_and_find_its_decode_cache(tmp_path):
    """The ingest starts its workers while it scans (before a batch's decode cache exists): they are
    the pool the stages then use, they ran the warm-up, and they find each batch's cache."""
    from dj_pipeline.audio.decode_cache import cache_environment, decode_cache
    from dj_pipeline.stages.pool import _Shared, warm_workers

    assert not warm_workers(2, _import_librosa_feature)  # outside an ingest's block: nothing started
    with keep_workers(), cache_environment(tmp_path, 11025, 64):
        assert not warm_workers(1, _import_librosa_feature)  # one worker: the stages run in-process
        assert warm_workers(2, _import_librosa_feature)
        warmed = set(_Shared.pool._processes)  # both started by the warm-up calls, before any stage
        assert len(warmed) == 2 and os.getpid() not in warmed and _pids() <= warmed
        assert any(ok for _, ok in spawn_iter(_imported, [[0, 1, 2, 3]], 2))  # the warm-up ran there
        assert {f for _, f in spawn_iter(_cache_folder, [[0, 1]], 2)} == {None}  # no batch yet: no cache
        for _ in range(2):  # a batch after another: each one's folder, while it exists
            with decode_cache(tmp_path, 11025, 64) as folder:
                assert {f for _, f in spawn_iter(_cache_folder, [[0, 1, 2, 3]], 2)} == {str(folder)}
                assert _pids() <= warmed
    assert "DJ_DECODE_CACHE_DIR" not in os.environ
