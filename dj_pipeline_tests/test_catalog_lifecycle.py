"""Issue 18 at the scan level: missing is not deleted, edits are caught, transient errors are retried."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

from dj_pipeline.catalog import ScanOptions, file_digest
from dj_pipeline.errors import LibraryUnavailableError
from dj_pipeline.storage.tables import error_row
from dj_pipeline_tests.test_catalog_scan import CONFIG, T0, scan, tone


def _library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    for i in range(3):
        tone(lib / "crate_a" / f"a{i}.wav", 200 + 10 * i)
        tone(lib / "crate_b" / f"b{i}.wav", 400 + 10 * i)
    return lib


def _by_name(result) -> dict[str, pd.Series]:
    return {Path(r.path).name: r for r in result.catalog.itertuples(index=False)}


# --- case 2: missing is not deleted ---------------------------------------------------------------
def test_a_missing_file_keeps_its_row_and_returns_without_reanalysis(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    away = tmp_path / "a1.wav"
    shutil.move(lib / "crate_a" / "a1.wav", away)
    gone = scan(lib, first.catalog, first.errors, minutes=1)
    s = gone.summary()
    assert (s["missing"], s["deleted"], s["tracks"], gone.new_batches) == (1, 0, 6, [])
    row = _by_name(gone)["a1.wav"]
    assert row.missing and row.missing_since == T0 + timedelta(minutes=1) and row.batch == _by_name(first)["a1.wav"].batch
    still = scan(lib, gone.catalog, gone.errors, minutes=2)
    assert _by_name(still)["a1.wav"].missing_since == T0 + timedelta(minutes=1), "missing since the first scan that missed it"
    shutil.move(away, lib / "crate_a" / "a1.wav")
    back = scan(lib, still.catalog, still.errors, minutes=3)
    assert back.summary()["returned"] == 1 and back.new_batches == [] and not back.catalog["missing"].any()
    assert _by_name(back)["a1.wav"].batch == _by_name(first)["a1.wav"].batch, "same content id: no re-analysis"


def test_deletion_needs_the_flag_or_the_configured_time(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    (lib / "crate_a" / "a0.wav").unlink()
    gone = scan(lib, first.catalog, first.errors, minutes=1)
    days = CONFIG.delete_missing_after_days
    assert days is not None and days > 0
    later = scan(lib, gone.catalog, gone.errors, minutes=1 + int(days * 24 * 60) - 1)
    assert later.summary()["deleted"] == 0 and later.catalog["missing"].sum() == 1
    expired = scan(lib, later.catalog, later.errors, minutes=2 + int(days * 24 * 60))
    assert expired.summary()["deleted"] == 1 and len(expired.catalog) == 5
    never = scan(lib, later.catalog, later.errors, minutes=10**7, delete_missing_after_days=None)
    assert never.summary()["deleted"] == 0
    flagged = scan_library_with(lib, gone, ScanOptions(allow_deletions=True))
    assert flagged.summary()["deleted"] == 1 and not flagged.catalog["missing"].any()


def scan_library_with(lib: Path, prev, options: ScanOptions, minutes: int = 5):
    from dj_pipeline.catalog import scan_library

    return scan_library(lib, prev.catalog, prev.errors, CONFIG, now=T0 + timedelta(minutes=minutes), options=options)


def test_an_empty_library_root_or_a_vanished_folder_changes_nothing(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    shutil.move(lib / "crate_b", tmp_path / "crate_b")  # a whole folder vanished (drive, share, rename outside)
    with pytest.raises(LibraryUnavailableError, match=r"1 folder\(s\) vanished .*crate_b.*3 track\(s\).*--allow-deletions"):
        scan(lib, first.catalog, first.errors, minutes=1)
    shutil.move(lib / "crate_a", tmp_path / "crate_a")  # the mount point is empty
    with pytest.raises(LibraryUnavailableError, match="holds no audio files"):
        scan(lib, first.catalog, first.errors, minutes=1)
    wiped = scan_library_with(lib, first, ScanOptions(allow_deletions=True))
    assert wiped.summary()["deleted"] == 6 and wiped.catalog.empty


def test_a_renamed_folder_is_a_move_not_a_loss(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    (lib / "crate_b").rename(lib / "crate_b_renamed")
    r = scan(lib, first.catalog, first.errors, minutes=1)
    s = r.summary()
    assert (s["missing"], s["deleted"], s["unchanged"], r.new_batches) == (0, 0, 6, [])


def test_an_unreadable_subfolder_is_not_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    locked = lib / "crate_b"
    real_scandir = os.scandir

    def scandir(path=".", *a, **k):  # the test runs as root, where chmod 000 would not stop a read
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *a, **k)

    monkeypatch.setattr(os, "scandir", scandir)
    r = scan(lib, first.catalog, first.errors, minutes=1)
    s = r.summary()
    assert (s["missing"], s["deleted"], s["tracks"], s["unreadable_dirs"]) == (0, 0, 6, 1)
    err = r.errors[r.errors["path"] == str(locked)].iloc[0]
    assert err.error == "cannot list folder (Permission denied)" and err.transient


# --- case 3: edits are caught --------------------------------------------------------------------
def test_a_same_size_edit_in_the_middle_is_detected(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    target = lib / "crate_a" / "a2.wav"
    y, sr = sf.read(target, dtype="float32")
    size = target.stat().st_size
    y[len(y) // 3 : 2 * len(y) // 3] *= 0.25  # a gain change in the middle: same size, same head and tail
    sf.write(target, y, sr, subtype=sf.info(target).subtype)
    assert target.stat().st_size == size
    os.utime(target, (T0.timestamp() + 99, T0.timestamp() + 99))
    r = scan(lib, first.catalog, first.errors, minutes=1)
    s = r.summary()
    assert (s["changed"], s["unchanged"], s["rehashed"]) == (1, 5, 1)
    row = _by_name(r)["a2.wav"]
    assert row.track_id == _by_name(first)["a2.wav"].track_id, "the same track for the DJ"
    assert row.batch == r.new_batches[0] and row.content_hash == file_digest(target)
    os.utime(lib / "crate_a" / "a0.wav")  # touched only: hashed whole, found unchanged
    again = scan(lib, r.catalog, r.errors, minutes=2)
    assert (again.summary()["changed"], again.rehashed, again.new_batches) == (0, 1, [])


def test_two_files_with_the_same_head_and_tail_are_two_tracks(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    src = lib / "crate_a" / "a0.wav"
    y, sr = sf.read(src, dtype="float32")
    y[len(y) // 3 : 2 * len(y) // 3] *= 0.5
    sf.write(lib / "crate_a" / "a0_quiet.wav", y, sr, subtype=sf.info(src).subtype)
    r = scan(lib, first.catalog, first.errors, minutes=1)
    assert r.summary()["new"] == 1 and not r.duplicates and len(r.catalog) == 7


# --- case 1: transient errors are retried, content errors wait -----------------------------------
def _batch_error(row, message: str, transient: bool, retries: int = 0) -> dict:
    return error_row(row.path, "windows", message, T0, T0, row.track_id, row.batch, row.size_bytes, row.mtime, transient, retries)


def test_failed_tracks_are_retried_when_transient_bounded_and_on_request(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    rows = _by_name(first)
    errors = pd.DataFrame([
        _batch_error(rows["a0.wav"], "file does not exist", True),
        _batch_error(rows["a1.wav"], "silent: loudest frame -90 dBFS", False),
        _batch_error(rows["a2.wav"], "cannot read file (Input/output error)", True, retries=CONFIG.max_transient_retries),
    ])  # fmt: skip
    r = scan(lib, first.catalog, errors, minutes=1)
    assert r.retried_ids == [rows["a0.wav"].track_id], "content errors and exhausted retries wait"
    assert _by_name(r)["a0.wav"].batch == r.new_batches[0] and _by_name(r)["a1.wav"].batch == rows["a1.wav"].batch
    everything = scan_library_with(lib, type("P", (), {"catalog": first.catalog, "errors": errors}), ScanOptions(retry_errors=True))
    assert sorted(everything.retried_ids) == sorted(rows[n].track_id for n in ("a0.wav", "a1.wav", "a2.wav"))
    legacy = errors.drop(columns=["transient", "retries"])  # errors written before the flag: judged by message
    assert scan(lib, first.catalog, legacy, minutes=2).retried_ids == sorted(rows[n].track_id for n in ("a0.wav", "a2.wav"))


def test_force_reanalyses_the_given_files_and_folders(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    first = scan(lib)
    one = scan_library_with(lib, first, ScanOptions(force_paths=(str((lib / "crate_b").resolve()),)))
    assert one.summary()["changed"] == 3 and len(one.new_batches) == 1
    assert {Path(p).parent.name for p in one.catalog.loc[one.catalog["batch"] == one.new_batches[0], "path"]} == {"crate_b"}
    everything = scan_library_with(lib, first, ScanOptions(force_paths=()))
    assert everything.summary()["changed"] == 6


def test_transient_scan_errors_are_retried_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dj_pipeline.catalog.scan as scan_module

    lib = _library(tmp_path)
    flaky = str((lib / "crate_a" / "a0.wav").resolve())
    real = scan_module.file_digest
    attempts: list[str] = []

    def digest(path, *a, **k):
        if str(path) == flaky:
            attempts.append(flaky)
            raise OSError(5, "Input/output error")
        return real(path, *a, **k)

    monkeypatch.setattr(scan_module, "file_digest", digest)
    r = scan(lib)
    err = r.errors.iloc[0]
    assert (err.error, err.transient, err.retries, len(r.catalog)) == ("cannot read file (Input/output error)", True, 0, 5)
    r2 = scan(lib, r.catalog, r.errors, minutes=1)
    assert len(attempts) == 2 and r2.errors.iloc[0].retries == 1, "retried though unchanged, and counted"
    monkeypatch.undo()
    r3 = scan(lib, r2.catalog, r2.errors, minutes=2)
    assert r3.errors.empty and r3.summary()["new"] == 1
