"""Light commands stay light (issue 15 "Fast CLI"): a command imports Dagster, torch, scikit-learn,
CatBoost, FAISS (and pandas, SciPy, NumPy where it can do without) only on the paths that use them.

Checked by module presence in a fresh interpreter rather than by wall time, which depends on the
machine's load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("dagster", "torch", "sklearn", "catboost", "faiss", "transformers", "librosa", "numba", "scipy", "pandas", "numpy")
MODEL_HEAVY = ("dagster", "torch", "sklearn", "transformers", "librosa", "numba")

PROBE = """
import json, sys
from dj_pipeline.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
heavy = json.loads(sys.argv[2])
with open(sys.argv[3], "w") as fh:
    json.dump(sorted({m.split(".")[0] for m in sys.modules} & set(heavy)), fh)
"""


def heavy_modules_imported(argv: list[str], heavy: tuple[str, ...], out: Path) -> list[str]:
    """The ``heavy`` top-level packages that ``dj ARGV`` imported, run in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(heavy), str(out)], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.exists(), proc.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["sql", "--help"],
        ["sql", "--max-rows", "-1", "SELECT 1"],
        ["ingest", "--library", "/no/such/folder"],
        ["ingest", "--library", ".", "--profile", "banana"],
        ["analyze", "/no/such/file.wav"],
        ["roles", "--samples", "/no/such/folder"],
        ["recommend", "--current", "x", "--top-k", "0"],
    ],
)
def test_argument_and_path_errors_import_nothing_heavy(tmp_path: Path, argv: list[str]) -> None:
    assert heavy_modules_imported(argv, HEAVY, tmp_path / "mods.json") == []


def test_sql_imports_nothing_heavy(tmp_path: Path) -> None:
    from dj_pipeline_tests.test_sql_surface import make_data_dir

    paths = make_data_dir(tmp_path / "data")
    argv = ["sql", "SELECT count(*) FROM tracks", "--data", str(paths.root)]
    assert heavy_modules_imported(argv, HEAVY, tmp_path / "mods.json") == []


def test_recommend_by_track_id_imports_no_model_library(ingested: Path, tmp_path: Path) -> None:
    from dj_pipeline.storage import read_asset

    track_id = str(read_asset(ingested, "tracks")["track_id"].iloc[0])
    argv = ["recommend", "--current", track_id, "--top-k", "3", "--data", str(ingested)]
    assert heavy_modules_imported(argv, MODEL_HEAVY, tmp_path / "mods.json") == []


def test_recommend_on_a_missing_file_answers_before_loading_the_library(ingested: Path, tmp_path: Path) -> None:
    """"File not found" must come in well under a second: no pandas, no recommender."""
    for verb, flag in (("recommend", ["--current"]), ("similar", [])):
        argv = [verb, *flag, str(tmp_path / "gone.wav"), "--data", str(ingested)]
        assert heavy_modules_imported(argv, HEAVY, tmp_path / f"{verb}.json") == []


def test_the_definitions_do_not_load_the_analysis_stack() -> None:
    """Every ingest loads the Dagster definitions, a no-op one too (target: 10 s on 50,000 files):
    the analysis package and scipy.signal (1.5 s of imports) load only in the stages that run."""
    code = "import sys, dj_pipeline.definitions; print(sorted(m for m in ('dj_pipeline.analysis', 'scipy.signal', 'librosa.filters') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ORCHESTRATOR = """
import json, sys
import dj_pipeline.definitions
from dj_pipeline.analysis import FEATURE_COLUMNS, features_frame, library_stats, load_analysis_config
from dj_pipeline.stages.beats_stage import beats_for_batch
from dj_pipeline.stages.features_stage import features_for_batch
with open(sys.argv[1], "w") as fh:
    json.dump(sorted(m for m in sys.modules if m in ("dj_pipeline.analysis.core", "scipy.signal", "librosa.core", "librosa.filters")), fh)
"""


def test_the_ingest_orchestrator_does_not_import_the_dsp_stack(tmp_path: Path) -> None:
    """The process that runs an ingest's assets asks ``dj_pipeline.analysis`` for columns and settings
    only; the analysis itself (SciPy's signal module, librosa's core, ~1.5 s of imports) runs in the workers,
    which would otherwise wait for it between two stages."""
    out = tmp_path / "mods.json"
    proc = subprocess.run([sys.executable, "-c", ORCHESTRATOR, str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)  # fmt: skip
    assert out.exists(), proc.stderr
    assert json.loads(out.read_text()) == []
