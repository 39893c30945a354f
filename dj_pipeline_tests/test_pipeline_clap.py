"""The CLAP path end to end: ingest with a tiny random CLAP from a local directory, then search by text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from dj_pipeline.index.text import TextSearchUnavailable  # noqa: E402
from dj_pipeline.pipeline import run_ingest  # noqa: E402
from dj_pipeline.query import Recommender  # noqa: E402
from dj_pipeline.storage import read_asset  # noqa: E402
from dj_pipeline_tests.tiny_clap import save_tiny_clap  # noqa: E402


def test_clap_ingest_stores_backend_and_enables_text_search(small_library: Path, tmp_path: Path) -> None:
    model_dir = save_tiny_clap(tmp_path / "tiny_clap")
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in sorted((small_library / "tracks").rglob("*.*"))[:3]:
        shutil.copy2(f, lib / f.name)
    samples = tmp_path / "samples"
    shutil.copytree(small_library / "samples", samples)
    first = run_ingest(lib, tmp_path / "data", samples_dir=samples, embedding_backend="dsp", show_progress=False, echo=lambda s: None)
    features_file = next((tmp_path / "data" / "parquet" / "track_features").glob("batch=*.parquet"))
    features_mtime = features_file.stat().st_mtime_ns
    # CLAP weights appear: the same batch is embedded again (only that asset), never mixed
    again = run_ingest(lib, tmp_path / "data", samples_dir=samples, embedding_backend="auto", embedding_model=str(model_dir),
                       device="cpu", show_progress=False, echo=lambda s: None)  # fmt: skip
    assert again.batches_processed == first.batches_processed and again.library_refreshed
    assert features_file.stat().st_mtime_ns == features_mtime, "features must not be recomputed for a backend switch"

    emb = read_asset(tmp_path / "data", "track_embeddings")
    assert set(emb["backend"]) == {"clap"}, "auto must pick CLAP when weights are on disk"
    assert set(emb["model"]) == {str(model_dir)}
    assert set(emb["dim"]) == {16}

    roles = read_asset(tmp_path / "data", "sample_roles")
    assert (roles["fusion_alpha"] < 1.0).all(), "CLAP zero-shot scores must be fused when weights exist"
    assert roles["p_clap_core"].notna().all()

    rec = Recommender(tmp_path / "data")
    hits = rec.search_text("dark rolling techno", top_k=3)
    assert len(hits) == 3 and all(h["track_id"] in set(emb["track_id"]) for h in hits)
    assert hits[0]["score"] >= hits[-1]["score"]
    assert rec.recommend(hits[0]["track_id"], top_k=2)


def test_text_search_on_dsp_library_names_the_backend(ingested: Path) -> None:
    with pytest.raises(TextSearchUnavailable, match="clap"):
        Recommender(ingested).search_text("warm deep house")


def test_cli_roles_fuse_clap_when_asked(small_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from dj_pipeline.cli import main

    model_dir = save_tiny_clap(tmp_path / "tiny_clap")
    assert main(["roles", "--samples", str(small_library / "samples"), "--json", "--backend", "clap", "--model", str(model_dir)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["fusion_alpha"] < 1.0 and r["p_clap_core"] is not None for r in rows)
    assert main(["roles", "--samples", str(small_library / "samples"), "--json", "--backend", "dsp"]) == 0
    assert all(r["fusion_alpha"] == 1.0 for r in json.loads(capsys.readouterr().out))
