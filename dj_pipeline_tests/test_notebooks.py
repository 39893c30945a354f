"""The notebooks run top to bottom in a real Jupyter kernel ("python3"), as a user would run them.

``notebooks/recommend.ipynb`` is executed with ``$DJ_DATA_DIR`` unset, so it builds and ingests
its own small demo library; its last cell prints a JSON summary that is checked here, and the
plots must come out as inline PNGs. A data dir without an ingest must stop the notebook with an
error that says to run ``dj ingest``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
RECOMMEND_NOTEBOOK = REPO / "notebooks" / "recommend.ipynb"
CELL_TIMEOUT_S = 240  # the demo-library build + ingest cell is the slow one (~30 s on 2 busy cores)


def execute(path: Path) -> nbformat.NotebookNode:
    """Run every cell in a fresh python3 kernel started in the repo root; raises on a failing cell."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def summary_line(nb: nbformat.NotebookNode) -> dict:
    """The JSON object the notebook's last code cell prints."""
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    text = "".join(o.get("text", "") for o in last.get("outputs", []) if o.get("output_type") == "stream")
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    assert lines, f"last cell printed no JSON summary: {text!r}"
    return json.loads(lines[-1])


def test_recommend_notebook_runs_on_its_own_demo_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJ_DATA_DIR", raising=False)
    nb = execute(RECOMMEND_NOTEBOOK)
    summary = summary_line(nb)
    assert summary["tracks_in_library"] == 12
    assert summary["session_length"] == 10
    assert summary["repeats"] == 0
    assert 1 <= summary["recommendations_shown"] <= 5
    pngs = [o for o in outputs(nb) if "image/png" in o.get("data", {})]
    assert len(pngs) >= 2, "the distribution and session plots must render inline"
    assert not [o for o in outputs(nb) if o.get("output_type") == "error"]


def test_recommend_notebook_stops_clearly_without_an_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_DATA_DIR", str(tmp_path / "never_ingested"))
    with pytest.raises(CellExecutionError, match="dj ingest"):
        execute(RECOMMEND_NOTEBOOK)
