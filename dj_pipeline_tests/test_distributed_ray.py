"""``executor: ray`` on a real two-node Ray cluster on this machine (issue 17).

The cluster is two ``ray start`` processes (a head with 1 CPU and a worker node with 1 CPU), no
dashboard, its own ports and temp dir; it is stopped at the end of the module even when a test
fails. The first test ingests the demo library through it and compares every per-track table
with the local ingest of the same library (the session's ``ingested`` fixture); the second kills
the worker node (its raylet and workers, SIGKILL) while it runs a track and checks the ingest
still finishes with every track once. Ray is in the ``dev`` extra, so CI runs these; without Ray
they are skipped.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")

from dj_pipeline.pipeline import run_ingest  # noqa: E402
from dj_pipeline.storage import read_asset  # noqa: E402

TRACK_TABLES = {"track_windows": ["track_id", "window"], "track_features": ["track_id"], "track_embeddings": ["track_id", "window"]}
TRACK_WORK_TITLES = ("ray::_single_threaded", "ray::EmbedderActor")  # what a Ray worker is called while it runs our work
KILL_TRACKS = 3
WATCH_POLL_S = 0.1


@pytest.fixture(scope="module")
def cluster():
    from dj_pipeline.distributed.local_cluster import start_local_cluster

    c = start_local_cluster(head_cpus=1, worker_nodes=1, cpus_per_worker=1)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture()
def on_ray(cluster, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DJ_EXECUTOR", "ray")
    monkeypatch.setenv("DJ_RAY_ADDRESS", cluster.address)
    return cluster


def test_cluster_listens_on_loopback_only(cluster) -> None:
    """Every server of both nodes (GCS, raylets, workers) accepts connections on 127.0.0.1 only."""
    import ray

    assert {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]} == {"127.0.0.1"}
    listening = cluster.listening_addresses()
    assert listening and listening <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening


class NodeWatch(threading.Thread):
    """Watches a node's processes for a Ray worker running our per-track work; optionally kills the node then."""

    def __init__(self, cluster, node, kill: bool) -> None:
        super().__init__(daemon=True)
        self.cluster, self.node, self.kill = cluster, node, kill
        self.seen: set[str] = set()
        self.killed = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop_event.is_set() and not self.killed:
            for p in _descendants(self.node.pid):
                try:
                    title = " ".join(p.cmdline())
                except psutil.Error:
                    continue
                self.seen.update(t for t in TRACK_WORK_TITLES if title.startswith(t))
            if self.seen and self.kill:
                self.killed = self.cluster.kill_node(self.node)
            time.sleep(WATCH_POLL_S)

    def __enter__(self) -> "NodeWatch":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.join(timeout=5)


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _track_rows(data: Path, table: str, track_ids: set[str] | None = None) -> pd.DataFrame:
    df = read_asset(data, table).drop(columns=["batch"])
    if track_ids is not None:
        df = df[df["track_id"].isin(track_ids)]
    df = df.assign(vector=df["vector"].map(list)) if "vector" in df else df
    return df.sort_values(TRACK_TABLES[table]).reset_index(drop=True)


def _assert_same_tables(data: Path, reference: Path, track_ids: set[str]) -> None:
    for table in TRACK_TABLES:
        got, want = _track_rows(data, table), _track_rows(reference, table, track_ids)
        assert set(got["track_id"]) == track_ids, f"{table}: tracks missing or extra"
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=table)


def _ingest(library: Path, data: Path) -> None:
    run_ingest(library, data, embedding_backend="dsp", show_progress=False, echo=lambda s: None)


def test_ray_ingest_gives_the_local_rows(on_ray, small_library: Path, ingested: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with NodeWatch(on_ray, on_ray.workers[0], kill=False) as watch:
        _ingest(small_library / "tracks", data)
    assert watch.seen, "the worker node ran no track: the ingest did not go through the Ray cluster"
    assert read_asset(data, "ingest_errors").empty
    _assert_same_tables(data, ingested, set(read_asset(ingested, "tracks")["track_id"]))


def test_ray_ingest_survives_a_lost_worker_node(on_ray, small_library: Path, ingested: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    for f in sorted((small_library / "tracks").rglob("*.*"))[:KILL_TRACKS]:
        shutil.copy2(f, library / f.name)
    data = tmp_path / "data"
    with NodeWatch(on_ray, on_ray.workers[0], kill=True) as watch:
        _ingest(library, data)
    assert watch.killed > 0, "the worker node was never seen running a track, so it was not killed mid-batch"
    assert on_ray.workers[0].poll() is not None, "the worker node is still running"
    assert read_asset(data, "ingest_errors").empty
    tracks = set(read_asset(data, "tracks")["track_id"])
    assert len(tracks) == KILL_TRACKS
    _assert_same_tables(data, ingested, tracks)
