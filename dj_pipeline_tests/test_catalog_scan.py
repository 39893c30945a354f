"""Library scan: content ids, tags, the diff against the previous scan, batches and scan errors."""

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from dj_pipeline.catalog import content_id, scan_library
from dj_pipeline.config.ingest import load_ingest_config
from dj_pipeline.errors import LibraryUnavailableError

CONFIG = load_ingest_config()
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def tone(path: Path, freq: float, duration_s: float = 8.0, sr: int = 22050, **tags: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(duration_s * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)
    if tags:
        with sf.SoundFile(path, "r+") as f:
            for k, v in tags.items():
                setattr(f, k, v)
    return path


def scan(lib: Path, prev: pd.DataFrame | None = None, prev_err: pd.DataFrame | None = None, minutes: int = 0, **cfg):
    config = load_ingest_config(overrides=cfg) if cfg else CONFIG
    return scan_library(lib, prev if prev is not None else pd.DataFrame(), prev_err if prev_err is not None else pd.DataFrame(),
                        config, now=T0 + timedelta(minutes=minutes))  # fmt: skip


def test_content_id_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    a = tone(tmp_path / "a.wav", 440)
    b = tmp_path / "copy.wav"
    shutil.copy(a, b)
    assert content_id(a) == content_id(b)
    tone(tmp_path / "c.wav", 441)
    assert content_id(tmp_path / "c.wav") != content_id(a)


def test_first_scan_reads_tags_and_probes(tmp_path: Path) -> None:
    tone(tmp_path / "lib" / "x.wav", 220, title="Night Drive", artist="Tester", sr=44100)
    r = scan(tmp_path / "lib")
    row = r.catalog.iloc[0]
    assert (row.title, row.artist, row.sample_rate, row.channels, row.format) == ("Night Drive", "Tester", 44100, 1, "wav")
    assert row.duration_s == pytest.approx(8.0, abs=0.01)
    assert r.summary()["new"] == 1 and len(r.new_batches) == 1 and row.batch == r.new_batches[0]


def test_rescan_diff_unchanged_touched_moved_changed_deleted_new(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(5):
        tone(lib / f"t{i}.wav", 200 + 10 * i)
    first = scan(lib)
    assert len(first.catalog) == 5
    second = scan(lib, first.catalog, first.errors, minutes=1)
    assert not second.changed_anything and second.summary()["unchanged"] == 5
    assert second.rehashed == 0 and second.new_batches == []

    os.utime(lib / "t0.wav", (1e9, 1e9))  # touched: same bytes, new mtime
    (lib / "t1.wav").rename(lib / "moved.wav")  # moved: same bytes, new path
    tone(lib / "t2.wav", 999)  # changed content at the same path
    (lib / "t3.wav").unlink()  # deleted
    for i in range(3):  # three new files
        tone(lib / "new" / f"n{i}.wav", 500 + i)
    third = scan(lib, second.catalog, second.errors, minutes=2)
    s = third.summary()
    assert (s["new"], s["changed"], s["deleted"], s["missing"], s["unchanged"]) == (3, 1, 0, 1, 3)  # missing, not deleted
    assert len(third.new_batches) == 1
    fresh = third.catalog[third.catalog["batch"] == third.new_batches[0]]
    assert sorted(Path(p).name for p in fresh["path"]) == ["n0.wav", "n1.wav", "n2.wav", "t2.wav"]
    moved = third.catalog[third.catalog["path"].str.endswith("moved.wav")].iloc[0]
    assert moved.batch == first.catalog.loc[first.catalog["path"].str.endswith("t1.wav"), "batch"].iloc[0]


def test_batches_are_capped_and_keys_never_repeat(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for i in range(7):
        tone(lib / f"t{i}.wav", 300 + i, duration_s=6.0)
    r = scan(lib, max_batch_size=3)
    assert r.catalog.groupby("batch").size().sort_index().tolist() == [3, 3, 1]
    tone(lib / "late.wav", 777, duration_s=6.0)
    r2 = scan(lib, r.catalog, r.errors, minutes=5, max_batch_size=3)
    assert set(r2.new_batches).isdisjoint(r.new_batches)


def test_bad_files_become_scan_errors_and_are_not_retried_until_changed(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    tone(lib / "good.wav", 440)
    (lib / "empty.wav").write_bytes(b"")
    (lib / "notes.mp3").write_text("this is not audio")
    tone(lib / "short.wav", 440, duration_s=3.0)
    (lib / "folder.wav").mkdir()
    good = tone(tmp_path / "src.wav", 330)
    data = good.read_bytes()
    (lib / "cut.wav").write_bytes(data[: len(data) // 2])
    r = scan(lib)
    reasons = {Path(p).name: e for p, e in zip(r.errors["path"], r.errors["error"])}
    assert set(reasons) == {"empty.wav", "notes.mp3", "short.wav", "folder.wav", "cut.wav"}
    assert "empty" in reasons["empty.wav"]
    assert "too short" in reasons["short.wav"]
    assert "directory" in reasons["folder.wav"]
    assert "truncated" in reasons["cut.wav"]
    assert "not a readable audio file" in reasons["notes.mp3"] or "decode" in reasons["notes.mp3"]
    assert r.catalog["path"].str.endswith("good.wav").tolist() == [True]

    again = scan(lib, r.catalog, r.errors, minutes=3)
    assert again.rehashed == 0, "unchanged bad files must not be re-read"
    assert (again.errors["first_seen"] == T0).all() and (again.errors["last_seen"] == T0 + timedelta(minutes=3)).all()
    tone(lib / "short.wav", 440, duration_s=9.0)  # fixed by the user: retried and ingested
    fixed = scan(lib, again.catalog, again.errors, minutes=4)
    assert "short.wav" in {Path(p).name for p in fixed.catalog["path"]}


def test_non_ascii_file_name_is_ingested(tmp_path: Path) -> None:
    tone(tmp_path / "lib" / "Beyoncé – Ça va ☃.flac", 262)
    r = scan(tmp_path / "lib")
    assert r.catalog["filename"].tolist() == ["Beyoncé – Ça va ☃.flac"] and r.errors.empty


def test_duplicate_content_is_catalogued_once(tmp_path: Path) -> None:
    a = tone(tmp_path / "lib" / "a.wav", 440)
    shutil.copy(a, tmp_path / "lib" / "b.wav")
    r = scan(tmp_path / "lib")
    assert len(r.catalog) == 1 and len(r.duplicates) == 1


def test_missing_library_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryUnavailableError, match="library folder not found"):
        scan(tmp_path / "nope")


def test_new_and_changed_files_are_hashed_on_threads_and_nothing_else(tmp_path: Path, monkeypatch) -> None:
    """Only new, changed or forced files are read whole; threads give the rows one thread gives; a
    file that cannot be read when it is hashed is a transient scan error, and the scan goes on."""
    import threading

    import dj_pipeline.catalog.scan as scan_module

    lib = tmp_path / "lib"
    for i in range(6):
        tone(lib / f"t{i}.wav", 200 + 10 * i, artist=f"A{i}")
    hashed: list[tuple[str, str]] = []
    real = scan_module._digests

    def counting(path: str, chunk_bytes: int) -> tuple[str, str]:
        hashed.append((Path(path).name, threading.current_thread().name))
        if path.endswith("t4.wav"):
            raise PermissionError(13, "Permission denied")
        return real(path, chunk_bytes)

    monkeypatch.setattr(scan_module, "_digests", counting)
    threaded = scan(lib, hash_threads=3)
    assert sorted(n for n, _ in hashed) == [f"t{i}.wav" for i in range(6)]
    assert {t for _, t in hashed} != {threading.current_thread().name}  # read on the pool's threads
    assert threaded.errors["path"].str.endswith("t4.wav").tolist() == [True]
    assert "cannot read file (permission denied" in threaded.errors["error"].iloc[0].lower()
    assert bool(threaded.errors["transient"].iloc[0]) and len(threaded.catalog) == 5
    monkeypatch.setattr(scan_module, "_digests", real)
    single = scan(lib, hash_threads=1)
    keep = ["track_id", "path", "content_hash", "artist", "duration_s"]
    same = single.catalog[~single.catalog["path"].str.endswith("t4.wav")][keep].reset_index(drop=True)
    assert same.equals(threaded.catalog[keep].reset_index(drop=True))

    hashed.clear()
    monkeypatch.setattr(scan_module, "_digests", counting)
    tone(lib / "t1.wav", 999)  # changed
    tone(lib / "new.wav", 333)  # new
    again = scan(lib, single.catalog, single.errors, minutes=1)
    assert sorted(n for n, _ in hashed) == ["new.wav", "t1.wav"]  # the unchanged four are not read again
    assert again.summary()["new"] == 1 and again.summary()["changed"] == 1
    with pytest.raises(ValueError, match="hash_threads"):
        load_ingest_config(overrides={"hash_threads": 0})
