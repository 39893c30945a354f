"""numba's cache stays out of site-packages: a damaged cache next to librosa's source crashed CI.

The CI image carried librosa kernels cached in site-packages by another process; loading them
segfaulted ``librosa.feature.chroma_stft`` (exit 139). Importing dj_pipeline first points numba at a
per-user folder unless the user chose one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = "import dj_pipeline, numba; print(numba.config.CACHE_DIR)"


def _cache_dir(env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120, check=True)
    return proc.stdout.strip()


def test_numba_cache_goes_to_a_per_user_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path)
    assert _cache_dir(env) == str(tmp_path / ".cache" / "dj_pipeline" / "numba")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    assert _cache_dir(env) == str(tmp_path / "xdg" / "dj_pipeline" / "numba")


def test_a_cache_folder_the_user_chose_is_kept(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    assert _cache_dir(env) == str(tmp_path / "mine")
