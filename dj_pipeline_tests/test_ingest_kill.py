"""Issue 18, cases 5 and 6: a kill -9 leaves no workers and loses no finished track; the small items."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.storage import DataPaths
from dj_pipeline_tests.test_pipeline_ingest import _ingest, _sql

N_TRACKS = 8  # two workers need >= 2 * min_tracks_per_worker (4) tracks in a batch


@pytest.fixture(scope="module")
def eight_tracks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dj_pipeline.demo import generate_library

    out = tmp_path_factory.mktemp("eight")
    generate_library(out, n_tracks=N_TRACKS, n_samples=0, seed=11, duration_scale=0.3)
    return out / "tracks"


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow  # two ingests with spawned worker pools: minutes on a loaded 2-core machine
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker processes from /proc (Linux)")
def test_kill_9_leaves_no_worker_and_the_rerun_keeps_finished_tracks(eight_tracks: Path, tmp_path: Path) -> None:
    from dj_pipeline.pipeline import _last_metadata, dagster_instance

    lib, data = tmp_path / "lib", tmp_path / "data"
    shutil.copytree(eight_tracks, lib)
    cmd = [sys.executable, "-m", "dj_pipeline", "ingest", "--library", str(lib), "--data", str(data), "--backend", "dsp", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = data / "checkpoints" / "track_windows"
    workers: set[int] = set()
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and len(list(checkpoint.glob("batch=*/windows/*.pkl"))) < 2:
        workers |= _children(proc.pid)
        time.sleep(0.02)
    assert proc.poll() is None, "the ingest ended before the test could kill it mid-batch"
    workers |= _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the ingest only, as the OOM killer or `kill -9` would: not its group
    proc.wait()
    assert workers, "the windows stage ran without a worker pool"
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    survivors = sorted(w for w in workers if _alive(w))
    for w in survivors:  # do not leave them running whatever the verdict
        os.kill(w, signal.SIGKILL)
    assert not survivors, f"workers outlived the killed ingest: {survivors}"

    finished = {f.stem for f in checkpoint.glob("batch=*/windows/*.pkl")}
    assert 2 <= len(finished) < N_TRACKS
    _ingest(lib, data)
    meta = _last_metadata(dagster_instance(DataPaths(data)), "track_windows")
    assert meta["tracks_resumed"] == len(finished), "every track the killed run finished is taken, none redone"
    assert _sql(data, "SELECT count(DISTINCT track_id) FROM track_windows")[0][0] == N_TRACKS
    assert _sql(data, "SELECT count(DISTINCT track_id) FROM track_features")[0][0] == N_TRACKS
    assert not list(checkpoint.glob("batch=*")), "a batch's checkpoint is removed once its file is written"


def test_a_checkpoint_from_other_settings_is_not_used(tmp_path: Path) -> None:
    import pandas as pd

    from dj_pipeline.stages.checkpoint import checkpointing
    from dj_pipeline.stages.common import run_per_track

    tracks = pd.DataFrame({"track_id": ["a", "b"], "path": ["/a.wav", "/b.wav"]})
    calls: list[str] = []

    def rows(track):  # noqa: ANN001, ANN202
        calls.append(track.track_id)
        return [{"track_id": track.track_id, "v": len(calls)}]

    with checkpointing(tmp_path / "ck", "settings-1"):
        first = run_per_track(tracks, rows, "demo", ["track_id", "v"], show_progress=False)
    with checkpointing(tmp_path / "ck", "settings-1"):
        again = run_per_track(tracks, rows, "demo", ["track_id", "v"], show_progress=False)
    assert calls == ["a", "b"] and again.resumed == 2 and again.rows.equals(first.rows)
    with checkpointing(tmp_path / "ck", "settings-2"):
        other = run_per_track(tracks, rows, "demo", ["track_id", "v"], show_progress=False)
    assert other.resumed == 0 and calls == ["a", "b", "a", "b"]


def test_a_worker_whose_parent_is_gone_exits(tmp_path: Path) -> None:
    """The guard for a parent that died while the worker was still starting (before prctl was armed)."""
    code = "from dj_pipeline.stages.pool import die_with_parent; die_with_parent(1); print('survived')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "survived" not in out.stdout


# --- case 6: the smaller items -------------------------------------------------------------------
def test_dj_ui_writes_the_instance_yaml_before_dagster_dev_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from dj_pipeline.cli import main

    started: list[tuple[list[str], dict]] = []
    monkeypatch.setattr(subprocess, "call", lambda argv, env: started.append((argv, env)) or 0)
    assert main(["ui", "--data", str(tmp_path / "data"), "--library", str(tmp_path), "--port", "3123"]) == 0
    (argv, env), = started
    home = Path(env["DAGSTER_HOME"])
    assert home == (tmp_path / "data" / "dagster_home").resolve() and env["DJ_LIBRARY_DIR"] == str(tmp_path.resolve())
    assert argv[1:] == ["-m", "dagster", "dev", "-m", "dj_pipeline.definitions", "-p", "3123"]
    settings = yaml.safe_load((home / "dagster.yaml").read_text())
    assert settings["telemetry"]["enabled"] is False and settings["concurrency"]["pools"]["default_limit"] == 1
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # a user's own file is kept
    main(["ui", "--data", str(tmp_path / "data")])
    assert "concurrency" not in (home / "dagster.yaml").read_text()


def test_a_silent_or_3_second_current_track_is_refused_like_ingest_refuses_it(ingested: Path, tmp_path: Path, capsys) -> None:
    from dj_pipeline.cli import main

    sr = 22050
    silent, short = tmp_path / "silent.wav", tmp_path / "short.wav"
    sf.write(silent, np.zeros(20 * sr, dtype=np.float32), sr)
    t = np.arange(3 * sr) / sr
    sf.write(short, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    for f, reason in ((silent, "silent: loudest frame"), (short, "too short: 3.00s")):
        assert main(["recommend", "--current", str(f), "--data", str(ingested)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and reason in err, err


def test_decoder_errors_read_as_words(tmp_path: Path) -> None:
    from dj_pipeline.audio import AudioDecodeError, probe

    fake = tmp_path / "not_audio.m4a"
    fake.write_bytes(b"this is a text file, not an MPEG-4 container " * 50)
    with pytest.raises(AudioDecodeError) as err:
        probe(fake)
    assert "Errno" not in str(err.value) and "Invalid data found" in str(err.value)


def test_a_session_file_holding_a_list_is_a_one_line_error_and_training_skips_it(tmp_path: Path) -> None:
    from dj_pipeline.recommend.errors import RecommendError
    from dj_pipeline.recommend.session import SessionState, SessionStore

    store = SessionStore(tmp_path)
    (tmp_path / "broken.json").write_text("[]", encoding="utf-8")
    store.save(SessionState("good"))
    with pytest.raises(RecommendError, match="broken.json is unreadable .*expected a JSON object"):
        store.load("broken")
    assert store.played_sequences() == [[]], "the good session still feeds the ranker"
