"""The Dagster instance directory (``DAGSTER_HOME``) of a data directory, and ``dj ui`` which opens it.

``dj ingest`` and ``dagster dev`` share one instance under ``<data>/dagster_home`` so runs from
either show up in the UI. Its ``dagster.yaml`` turns telemetry off and limits every concurrency pool
to 1 (``duckdb_writer``: DuckDB allows one writer; ``embedding_device``: one model on the GPU at a
time). ``dagster dev`` reads that file when it starts, before it loads any project code, so it must
exist before the UI starts: :func:`prepare_dagster_home` writes it, ``dj ui`` calls it, then runs
``dagster dev`` on this project with the right environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

INSTANCE_YAML = """telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""
INSTANCE_FILE = "dagster.yaml"


def prepare_dagster_home(home: str | os.PathLike) -> Path:
    """Create ``home`` with its ``dagster.yaml`` unless one exists (a user's own is kept); returns ``home``."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    f = home / INSTANCE_FILE
    if not f.exists():
        tmp = f.with_suffix(".partial")
        tmp.write_text(INSTANCE_YAML, encoding="utf-8")
        os.replace(tmp, f)
    return home


def ui_command(data_root: Path, library: str | None, port: int) -> tuple[list[str], dict[str, str]]:
    """The ``dagster dev`` command line and environment for the UI over ``data_root`` (home prepared)."""
    home = prepare_dagster_home(data_root / "dagster_home")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DJ_DATA_DIR": str(data_root)}
    if library:
        env["DJ_LIBRARY_DIR"] = str(Path(library).expanduser().resolve())
    argv = [sys.executable, "-m", "dagster", "dev", "-m", "dj_pipeline.definitions", "-p", str(port)]
    return argv, env
