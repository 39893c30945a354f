"""Style vectors: k-NN graph, diffusion, out-of-library extension, and the built ``style`` index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dj_pipeline.config.embeddings import StyleConfig, load_embeddings_config
from dj_pipeline.index import VectorIndex, build_index
from dj_pipeline.index.style import diffuse, extend_style_vector, graph_matrix, graph_neighbors, knn_graph, style_vectors
from dj_pipeline.recommend.synthetic import clustered_library
from dj_pipeline.storage import DataPaths


def test_knn_graph_finds_the_nearest_other_rows() -> None:
    x = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [0.14, 0.99], [-1.0, 0.0]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows, sims = knn_graph(x, k=1)
    assert rows[:, 0].tolist() == [1, 0, 3, 2, 2]  # never itself
    assert sims[0, 0] == pytest.approx(float(x[0] @ x[1]), abs=1e-6)
    # k above n - 1 is clipped; batches give the same graph as one pass
    rows_all, _ = knn_graph(x, k=10, batch=2)
    assert rows_all.shape == (5, 4) and all(i not in r for i, r in enumerate(rows_all))


def test_graph_is_symmetric_normalised_and_ignores_negative_similarity() -> None:
    rows = np.array([[1, 2], [0, 2], [0, 1]])
    sims = np.array([[0.5, -0.3], [0.5, 0.8], [-0.3, 0.8]], dtype=np.float32)
    w = graph_matrix(rows, sims).toarray()
    assert w == pytest.approx(w.T)
    a = np.array([[0.0, 0.5, 0.0], [0.5, 0.0, 0.8], [0.0, 0.8, 0.0]])
    d = a.sum(axis=1)
    assert w == pytest.approx(a / np.sqrt(np.outer(d, d)))


def test_diffusion_solves_the_fixed_point() -> None:
    lib = clustered_library(120, seed=2)
    t = lib.track.vectors.astype(np.float64)
    rows, sims = knn_graph(lib.track.vectors, k=8)
    w = graph_matrix(rows, sims)
    exact = np.linalg.solve(np.eye(len(t)) - 0.8 * w.toarray(), t)
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    assert diffuse(t, w, alpha=0.8, iterations=80) == pytest.approx(exact, abs=1e-5)
    # alpha 0 (or no steps, or a single track) leaves the vectors as they are
    assert style_vectors(lib.track.vectors, StyleConfig(alpha=0.0)) == pytest.approx(lib.track.vectors, abs=1e-6)
    assert style_vectors(lib.track.vectors[:1], StyleConfig()) == pytest.approx(lib.track.vectors[:1], abs=1e-6)


def test_an_outside_track_gets_nearly_its_library_style_vector() -> None:
    # leave-one-out: a library track extended from its neighbours as if it came from outside
    lib = clustered_library(300, seed=5)
    cfg = StyleConfig()
    styles = style_vectors(lib.track.vectors, cfg)
    rows, sims = knn_graph(lib.track.vectors, graph_neighbors(300, cfg))
    extended = np.stack([extend_style_vector(lib.track.vectors[i], sims[i], styles[rows[i]], cfg) for i in range(len(rows))])
    agreement = np.sum(extended * styles, axis=1)
    assert np.median(agreement) > 0.96 and agreement.min() > 0.8  # 0.978 / 0.866 here; 1.000 / 0.993 on the 960-track demo
    # far closer to its own style vector than the raw track vector is (median 0.82 here)
    assert np.median(agreement) > np.median(np.sum(lib.track.vectors * styles, axis=1)) + 0.1


def test_small_libraries_get_fewer_neighbours() -> None:
    cfg = StyleConfig()
    assert [graph_neighbors(n, cfg) for n in (0, 1, 24, 240, 400, 50_000)] == [1, 1, 3, 8, 10, 10]
    # the graph really is built with that many: a 24-track library's style vectors differ from a
    # 10-neighbour diffusion of the same vectors
    lib = clustered_library(24, seed=4)
    three = style_vectors(lib.track.vectors, cfg)
    rows, sims = knn_graph(lib.track.vectors, 3)
    assert three == pytest.approx(diffuse(lib.track.vectors, graph_matrix(rows, sims), cfg.alpha, cfg.iterations), abs=1e-6)


def test_style_config_guards() -> None:
    with pytest.raises(ValueError, match="alpha"):
        load_embeddings_config(overrides={"index": {"style": {"alpha": 1.0}}})
    with pytest.raises(ValueError, match="neighbors"):
        load_embeddings_config(overrides={"index": {"style": {"neighbors": 0}}})


def test_ingest_builds_a_flat_style_index_over_the_track_index(ingested: Path) -> None:
    index_dir = DataPaths(ingested).index_dir
    track = VectorIndex.load(index_dir, "track")
    style = VectorIndex.load(index_dir, "style")
    assert style.ids == track.ids and style.kind == "flat"
    meta = json.loads((index_dir / "style.meta.json").read_text())
    assert meta["track_fingerprint"] == track.meta["fingerprint"]
    assert meta["style_params"] == {**StyleConfig().__dict__, **meta["style_params"]}
    expected = style_vectors(np.asarray(track.vectors), load_embeddings_config().index.style)
    assert np.asarray(style.vectors) == pytest.approx(expected, abs=1e-5)


def test_style_index_is_rebuilt_only_when_the_track_vectors_change(tmp_path: Path) -> None:
    from dj_pipeline.stages.index_stage import build_style_index

    paths = DataPaths(tmp_path)
    lib = clustered_library(60, seed=1)
    build_index(lib.track.vectors, lib.track.ids, paths.index_dir, "track", "dsp", "m")
    first = build_style_index(paths, "dsp", "m")
    assert first["reused"] == "none" and first["n"] == 60
    assert build_style_index(paths, "dsp", "m")["reused"] == "unchanged"
    # other settings: new vectors, and the metadata says which settings made them
    wider = load_embeddings_config(overrides={"index": {"style": {"alpha": 0.5}}}).index
    rebuilt = build_style_index(paths, "dsp", "m", wider)
    assert rebuilt["reused"] == "none" and rebuilt["style_params"]["alpha"] == 0.5
    assert json.loads((paths.index_dir / "style.meta.json").read_text())["style_params"]["alpha"] == 0.5
    assert build_style_index(paths, "dsp", "m", wider)["reused"] == "unchanged"
    build_index(lib.track.vectors[:50], lib.track.ids[:50], paths.index_dir, "track", "dsp", "m")
    again = build_style_index(paths, "dsp", "m")
    assert again["reused"] == "none" and again["n"] == 50
    assert VectorIndex.load(paths.index_dir, "style").ids == lib.track.ids[:50]


def test_index_check_passes_on_an_ingest_and_catches_a_stale_style_index(ingested: Path, tmp_path: Path) -> None:
    import shutil

    from dj_pipeline.stages.index_stage import index_consistency

    info = index_consistency(DataPaths(ingested))
    assert info["has_style"] and info["mismatched"] == [] and info["bad_style_vectors"] == 0
    assert info["indexes"] == ["intro", "outro", "style", "track"]
    copy = DataPaths(tmp_path / "data")
    shutil.copytree(DataPaths(ingested).index_dir, copy.index_dir)
    track = VectorIndex.load(copy.index_dir, "track", use_faiss=False)
    stale = np.asarray(track.vectors[:-1]) * 2.0  # one track short and not unit length
    build_index(stale, track.ids[:-1], copy.index_dir, "style", track.backend, track.model)
    info = index_consistency(copy)
    assert info["mismatched"] == ["style"] and info["bad_style_vectors"] == len(track.ids) - 1
