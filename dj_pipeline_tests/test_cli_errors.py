"""Every user error of the ``dj`` command, run as a person runs it (a subprocess): exit status not 0,
exactly one line on stderr, no traceback (issue 15 "Every user error is one line")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_dj(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m dj_pipeline ARGV`` in a fresh interpreter, as a user would type ``dj ARGV``."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dj_pipeline", *argv], capture_output=True, text=True, cwd=cwd or REPO, env=full_env, timeout=300
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, f"exit 0 for a user error; stderr: {proc.stderr!r}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, f"stderr is not one line: {proc.stderr!r}"
    assert expected in lines[0], lines[0]


@pytest.fixture()
def a_file(tmp_path: Path) -> Path:
    f = tmp_path / "plain.txt"
    f.write_text("not a folder")
    return f


@pytest.fixture()
def a_library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    return lib


def _read_only_dir(tmp_path: Path) -> Path:
    """A folder this process cannot write into (root ignores mode bits, so /proc/sys there)."""
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        return d
    proc_sys = Path("/proc/sys")
    if proc_sys.is_dir() and not os.access(proc_sys, os.W_OK):
        return proc_sys
    pytest.skip("no read-only folder available to a root process here")


def test_data_dir_that_is_a_file(a_file: Path, a_library: Path) -> None:
    assert_one_line_error(run_dj("sql", "SELECT 1", "--data", str(a_file)), "is a file, not a folder")
    assert_one_line_error(run_dj("ingest", "--library", str(a_library), "--data", str(a_file)), "is a file, not a folder")
    assert_one_line_error(run_dj("ingest", "--library", str(a_library), "--data", str(a_file / "sub")), "which is a file")
    assert_one_line_error(run_dj("sql", "SELECT 1", env={"DJ_DATA_DIR": str(a_file)}), "is a file, not a folder")


@pytest.mark.parametrize("where", ["directory", "under_a_file", "read_only"])
def test_export_to_a_place_that_cannot_be_written(tmp_path: Path, a_file: Path, where: str) -> None:
    out = {
        "directory": lambda: tmp_path,
        "under_a_file": lambda: a_file / "library.xml",
        "read_only": lambda: _read_only_dir(tmp_path) / "library.xml",
    }[where]()
    expected = {"directory": "is a folder", "under_a_file": "is a file, not a folder", "read_only": "permission denied"}[where]
    assert_one_line_error(run_dj("export", "rekordbox", "--out", str(out), "--data", str(tmp_path / "data")), expected)


def test_unknown_profile_fails_before_any_work(tmp_path: Path, a_library: Path) -> None:
    data = tmp_path / "data"
    proc = run_dj("ingest", "--library", str(a_library), "--profile", "banana", "--data", str(data))
    assert_one_line_error(proc, "unknown sampling profile 'banana'")
    assert not data.exists(), "nothing may be written for a rejected configuration"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sql", "--max-rows", "-1", "SELECT 1"], "--max-rows: -1 is negative"),
        (["sql", "--max-rows", "many", "SELECT 1"], "'many' is not a whole number"),
        (["recommend", "--current", "x", "--top-k", "0"], "--top-k: must be at least 1"),
        (["recommend"], "required: --current"),
        (["no-such-verb"], "invalid choice"),
        (["ingest", "--library", "/no/such/folder"], "library folder not found"),
        (["ingest", "--library", str(REPO), "--samples", "/no/such/folder"], "samples folder not found"),
        (["analyze", "/no/such/file.wav"], "file not found"),
        (["roles", "--samples", "/no/such/folder"], "samples folder not found"),
    ],
)
def test_argument_errors(tmp_path: Path, argv: list[str], expected: str) -> None:
    data = ["--data", str(tmp_path / "data")] if argv and argv[0] in ("sql", "ingest") else []
    assert_one_line_error(run_dj(*argv, *data), expected)


def test_sql_errors(tmp_path: Path) -> None:
    assert_one_line_error(run_dj("sql", "SELECT 1", "--data", str(tmp_path)), "run `dj ingest` first")


def test_analyze_not_audio_and_symlink_loop(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio at all")
    assert_one_line_error(run_dj("analyze", str(bogus)), "cannot analyse")
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    assert_one_line_error(run_dj("analyze", str(loop)), "loop.wav")


def test_recommend_symlink_loop_and_missing_file(ingested: Path, tmp_path: Path) -> None:
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    assert_one_line_error(run_dj("recommend", "--current", str(loop), "--data", str(ingested)), "loop.wav")
    assert_one_line_error(run_dj("recommend", "--current", str(tmp_path / "gone.wav"), "--data", str(ingested)), "gone.wav")


def test_broken_pipe_is_quiet(ingested: Path) -> None:
    """``dj sql ... | head -1``: the reader leaves early; no BrokenPipeError traceback."""
    cmd = f"{sys.executable} -m dj_pipeline sql 'SELECT * FROM range(100000)' --max-rows 0 --data {ingested} | head -1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.stdout.strip() == "range"
    assert proc.stderr == "", proc.stderr


def test_mp3_decoder_noise_is_silenced() -> None:
    """libmpg123 prints "id3 ... No extra frame text" for many real MP3s; none of it may reach stderr."""
    realset = Path(os.environ.get("DJ_REALSET", "/work/realset"))
    mp3s = sorted((realset / "audio").rglob("*.mp3")) if (realset / "audio").is_dir() else []
    if not mp3s:
        pytest.skip("no real MP3 files (DJ_REALSET) to decode")
    code = (
        "import sys\nfrom dj_pipeline.audio import load_audio, probe\n"
        "for f in sys.argv[1:]:\n    probe(f); load_audio(f, sr=22050, duration_s=5); load_audio(f, sr=22050, offset_s=20, duration_s=5)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *map(str, mp3s)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
