"""Vector index build/load/search: flat, HNSW and IVF kinds, the NumPy path, incremental rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dj_pipeline.config.embeddings import load_embeddings_config
from dj_pipeline.index import VectorIndex, build_index, choose_index_kind, numpy_search, recall_at_k
from dj_pipeline.index.build import ivf_nlist


def clustered(n: int, dim: int = 32, n_centres: int = 40, spread: float = 0.15, seed: int = 0) -> np.ndarray:
    """Unit vectors from a Gaussian mixture around ``n_centres`` random unit centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_centres, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, n_centres, n)] + spread * rng.standard_normal((n, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def ids_for(n: int) -> list[str]:
    return [f"track{i:05d}" for i in range(n)]


def small_config(**index_overrides):
    return load_embeddings_config(overrides={"index": index_overrides}).index


def test_flat_index_finds_each_vector_itself_and_matches_numpy(tmp_path: Path) -> None:
    x = clustered(500)
    meta = build_index(x, ids_for(500), tmp_path, "intro", "dsp", "dsp-v1:test")
    assert meta["kind"] == "flat" and meta["n"] == 500 and meta["dim"] == 32 and meta["build_s"] >= 0
    idx = VectorIndex.load(tmp_path, "intro")
    assert (idx.backend, idx.model, idx.kind, len(idx)) == ("dsp", "dsp-v1:test", "flat", 500)
    scores, ids = idx.search(x[:50], k=10)
    assert [row[0] for row in ids] == ids_for(500)[:50]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    np_scores, np_ids = VectorIndex.load(tmp_path, "intro", use_faiss=False).search(x[:50], k=10)
    assert np_ids == ids
    np.testing.assert_allclose(np_scores, scores, atol=1e-5)
    np.testing.assert_array_equal(idx.vectors, x)
    np.testing.assert_array_equal(idx.vector("track00007"), x[7])
    assert idx.vector("nope") is None


def test_numpy_search_is_exact_on_a_hand_example() -> None:
    v = np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float32)
    scores, rows = numpy_search(v, np.array([[1.0, 0.0]], np.float32), 2)
    assert rows.tolist() == [[0, 2]]
    np.testing.assert_allclose(scores, [[1.0, 0.6]], atol=1e-6)


def test_k_larger_than_n_is_clipped(tmp_path: Path) -> None:
    x = clustered(7)
    build_index(x, ids_for(7), tmp_path, "track", "dsp", "m")
    scores, ids = VectorIndex.load(tmp_path, "track").search(x[0], k=200)
    assert scores.shape == (1, 7) and len(ids[0]) == 7 and ids[0][0] == "track00000"


@pytest.mark.parametrize("approximate", ["hnsw", "ivf"])
def test_approximate_kinds_are_chosen_recorded_and_accurate(tmp_path: Path, approximate: str) -> None:
    n = 6000
    x = clustered(n, seed=1)
    cfg = small_config(flat_max_vectors=1000, approximate=approximate)
    meta = build_index(x, ids_for(n), tmp_path, "track", "clap", "tiny", config=cfg)
    assert meta["kind"] == approximate and meta["params"]
    assert json.loads((tmp_path / "track.meta.json").read_text())["kind"] == approximate
    idx = VectorIndex.load(tmp_path, "track", config=cfg)
    q = clustered(200, seed=2)
    _, approx = idx.search(q, k=10)
    _, exact = idx.search(q, k=10, exact=True)
    assert recall_at_k(approx, exact, 10) >= 0.95
    assert [r[0] for r in idx.search(x[:20], k=1)[1]] == ids_for(n)[:20]


def test_auto_kind_thresholds() -> None:
    cfg = small_config(flat_max_vectors=100, hnsw_max_vectors=1000, approximate="auto")
    assert [choose_index_kind(n, cfg) for n in (100, 101, 1000, 1001)] == ["flat", "hnsw", "hnsw", "ivf"]
    assert ivf_nlist(1_000_000, load_embeddings_config().index) == 2000
    assert ivf_nlist(100, load_embeddings_config().index) == 2  # >= 39 training points per list


def test_unchanged_input_is_not_rebuilt_and_changes_are(tmp_path: Path) -> None:
    x = clustered(300)
    first = build_index(x, ids_for(300), tmp_path, "intro", "dsp", "m")
    again = build_index(x, ids_for(300), tmp_path, "intro", "dsp", "m")
    assert first["reused"] == "none" and again["reused"] == "unchanged"
    assert again["fingerprint"] == first["fingerprint"]
    fewer = build_index(x[:-1], ids_for(299), tmp_path, "intro", "dsp", "m")
    assert fewer["reused"] == "none" and fewer["n"] == 299
    assert "track00299" not in VectorIndex.load(tmp_path, "intro").ids


def test_ivf_keeps_its_quantizer_but_not_deleted_vectors(tmp_path: Path) -> None:
    x = clustered(4000, seed=3)
    cfg = small_config(flat_max_vectors=100, approximate="ivf")
    build_index(x, ids_for(4000), tmp_path, "track", "dsp", "m", config=cfg)
    second = build_index(x[:3990], ids_for(3990), tmp_path, "track", "dsp", "m", config=cfg)
    assert second["reused"] == "ivf_quantizer"
    idx = VectorIndex.load(tmp_path, "track", config=cfg)
    assert idx._faiss.ntotal == 3990 and "track03995" not in idx.ids
    other = build_index(x, ids_for(4000), tmp_path, "track", "clap", "tiny", config=cfg)
    assert other["reused"] == "none"  # another backend never reuses a quantizer
    assert VectorIndex.load(tmp_path, "track").backend == "clap"


def test_switching_to_flat_removes_the_faiss_file(tmp_path: Path) -> None:
    x = clustered(2000)
    build_index(x, ids_for(2000), tmp_path, "track", "dsp", "m", config=small_config(flat_max_vectors=100, approximate="hnsw"))
    assert (tmp_path / "track.faiss").exists()
    build_index(x, ids_for(2000), tmp_path, "track", "dsp", "m")
    assert not (tmp_path / "track.faiss").exists() and VectorIndex.load(tmp_path, "track").kind == "flat"


@pytest.mark.parametrize(
    "vectors, ids, backend, message",
    [
        (np.zeros((0, 4), np.float32), [], "dsp", "non-empty"),
        (np.eye(3, dtype=np.float32), ["a", "b"], "dsp", "3 vectors"),
        (np.eye(3, dtype=np.float32), ["a", "a", "b"], "dsp", "unique"),
        (np.array([[np.nan, 1.0]], np.float32), ["a"], "dsp", "NaN"),
        (np.eye(2, dtype=np.float32), ["a", "b"], "", "backend"),
    ],
)
def test_build_guards(tmp_path: Path, vectors, ids, backend, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_index(vectors, ids, tmp_path, "intro", backend, "m")


def test_search_and_load_guards(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build it first"):
        VectorIndex.load(tmp_path, "intro")
    with pytest.raises(ValueError, match="index name"):
        build_index(np.eye(2, dtype=np.float32), ["a", "b"], tmp_path, "../x", "dsp", "m")
    build_index(np.eye(4, dtype=np.float32), list("abcd"), tmp_path, "intro", "dsp", "m")
    idx = VectorIndex.load(tmp_path, "intro")
    with pytest.raises(ValueError, match=r"\[m, 4\]"):
        idx.search(np.ones((1, 3), np.float32), 2)
    with pytest.raises(ValueError, match="NaN"):
        idx.search(np.full((1, 4), np.nan, np.float32), 2)
    with pytest.raises(ValueError, match="k must be"):
        idx.search(np.ones((1, 4), np.float32), 0)
    (tmp_path / "intro.ids.json").write_text('["a"]')
    with pytest.raises(RuntimeError, match="inconsistent"):
        VectorIndex.load(tmp_path, "intro")
