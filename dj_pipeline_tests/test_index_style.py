"""Style vectors: k-NN graph, diffusion, out-of-library extension, and the built ``style`` index."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
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
    # leave-one-out: diffuse the library without a track, extend the track from its neighbours
    # there, and compare with its style vector when it is part of the library
    lib = clustered_library(300, seed=5)
    cfg = StyleConfig()
    x = lib.track.vectors
    full = style_vectors(x, cfg)
    agreement, raw = [], []
    for i in range(0, len(x), 10):
        others = np.arange(len(x)) != i
        rest = style_vectors(x[others], cfg)
        sims = x[others] @ x[i]
        near = np.argsort(-sims)[: graph_neighbors(len(x) - 1, cfg)]
        agreement.append(float(extend_style_vector(x[i], sims[near], rest[near], cfg) @ full[i]))
        raw.append(float(x[i] @ full[i]))
    assert np.median(agreement) > 0.95 and min(agreement) > 0.85  # 0.968 / 0.894 here
    # far closer to its library style vector than its own track vector is (median 0.82)
    assert np.median(agreement) > np.median(raw) + 0.1


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
    with pytest.raises(ValueError, match="weight_power"):
        load_embeddings_config(overrides={"index": {"style": {"weight_power": 0.0}}})


def test_settings_stored_by_another_version_still_load() -> None:
    from types import SimpleNamespace

    from dj_pipeline.recommend.loader import style_config_of

    stored = SimpleNamespace(meta={"style_params": {"neighbors": 7, "alpha": 0.8, "from_a_newer_version": 1}})
    cfg = style_config_of(stored)
    assert (cfg.neighbors, cfg.alpha, cfg.iterations) == (7, 0.8, StyleConfig().iterations)
    assert style_config_of(SimpleNamespace(meta={})) is None and style_config_of(None) is None


def test_ingest_builds_a_flat_style_index_over_the_track_index(ingested: Path) -> None:
    index_dir = DataPaths(ingested).index_dir
    track = VectorIndex.load(index_dir, "track")
    style = VectorIndex.load(index_dir, "style")
    assert style.ids == track.ids and style.kind == "flat"
    meta = json.loads((index_dir / "style.meta.json").read_text())
    assert meta["track_fingerprint"] == track.meta["fingerprint"]
    assert meta["style_params"] == asdict(load_embeddings_config().index.style)
    expected = style_vectors(np.asarray(track.vectors), load_embeddings_config().index.style)
    assert np.asarray(style.vectors) == pytest.approx(expected, abs=1e-5)


def test_style_index_is_rebuilt_only_when_the_track_vectors_change(tmp_path: Path) -> None:
    from dj_pipeline.stages.index_stage import build_style_index

    paths = DataPaths(tmp_path)
    lib = clustered_library(60, seed=1)
    build_index(lib.track.vectors, lib.track.ids, paths.index_dir, "track", "dsp", "m")
    first = build_style_index(paths)
    assert first["reused"] == "none" and first["n"] == 60 and first["graph_neighbors"] == 4  # ceil(0.5 * sqrt(60))
    assert build_style_index(paths)["reused"] == "unchanged"
    # other settings: new vectors, and the metadata says which settings made them
    wider = load_embeddings_config(overrides={"index": {"style": {"alpha": 0.5}}}).index
    rebuilt = build_style_index(paths, wider)
    assert rebuilt["reused"] == "none" and rebuilt["style_params"]["alpha"] == 0.5
    assert json.loads((paths.index_dir / "style.meta.json").read_text())["style_params"]["alpha"] == 0.5
    assert build_style_index(paths, wider)["reused"] == "unchanged"
    build_index(lib.track.vectors[:50], lib.track.ids[:50], paths.index_dir, "track", "dsp", "m")
    again = build_style_index(paths)
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
    assert info["stale_style"]  # made by hand, not from the track index


def test_a_style_index_from_other_track_vectors_is_stale_even_with_the_same_ids(ingested: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import shutil

    from dj_pipeline.recommend.loader import load_engine
    from dj_pipeline.stages.index_stage import index_consistency

    copy = DataPaths(tmp_path / "data")
    shutil.copytree(ingested, copy.root)
    track = VectorIndex.load(copy.index_dir, "track", use_faiss=False)
    rng = np.random.default_rng(0)
    other = rng.normal(size=np.asarray(track.vectors).shape).astype(np.float32)
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    build_index(other, track.ids, copy.index_dir, "track", track.backend, track.model)  # same ids and size, new vectors
    info = index_consistency(copy)
    assert info["mismatched"] == [] and info["stale_style"]
    with caplog.at_level(logging.WARNING, logger="dj_pipeline.recommend.loader"):
        engine = load_engine(copy)
    assert "made from other track vectors" in caplog.text
    # the engine diffused the track vectors now on disk instead of using the stale ones
    assert engine.style.vectors == pytest.approx(style_vectors(other, load_embeddings_config().index.style), abs=1e-5)
