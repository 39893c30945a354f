"""Build a named vector index: exact flat inner product when small, approximate when large.

Kind choice (``index`` section of ``embeddings.yaml``): ``n <= flat_max_vectors`` -> ``flat``
(``IndexFlatIP``, exact); above it ``approximate`` decides: ``hnsw`` (``IndexHNSWFlat``), ``ivf``
(``IndexIVFFlat``), or ``auto`` = HNSW up to ``hnsw_max_vectors`` and IVF above (HNSW build time
grows too fast for millions of vectors on one machine). The choice is recorded in the metadata.

Incremental rebuilds: an index whose ids and vectors are unchanged (same fingerprint, backend,
model and kind) is not rebuilt at all. An IVF index keeps its trained coarse quantizer across
rebuilds of the same backend/model/dimension and comparable size (the k-means is the expensive
part); its lists are emptied and refilled with the current vectors, so deleted tracks disappear.
A different backend or model always means a fresh build: one index never mixes backends.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np

from dj_pipeline.config.embeddings import IndexConfig, load_embeddings_config
from dj_pipeline.index.files import fingerprint, index_files, read_meta, write_faiss, write_json, write_npy

log = logging.getLogger(__name__)


def choose_index_kind(n: int, config: IndexConfig) -> str:
    """``flat``, ``hnsw`` or ``ivf`` for ``n`` vectors."""
    if n <= config.flat_max_vectors:
        return "flat"
    if config.approximate == "auto":
        return "hnsw" if n <= config.hnsw_max_vectors else "ivf"
    return config.approximate


def ivf_nlist(n: int, config: IndexConfig) -> int:
    """Number of IVF lists: ~``nlist_per_sqrt_n * sqrt(n)``, clipped, and >= 39 training points each."""
    c = config.ivf
    nlist = int(round(c.nlist_per_sqrt_n * np.sqrt(max(n, 1))))
    nlist = min(max(nlist, c.min_nlist), c.max_nlist, max(1, n // 39))
    return max(1, nlist)


def set_threads(config: IndexConfig) -> None:
    if config.threads > 0:
        import faiss

        faiss.omp_set_num_threads(int(config.threads))


def build_index(
    vectors: np.ndarray,
    ids: list[str],
    out_dir: str | os.PathLike,
    name: str,
    backend: str,
    model: str,
    config: IndexConfig | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write index ``name`` over ``vectors`` (float32 ``[n, d]``, already in the index space) to ``out_dir``.

    ``extra_meta`` is stored in the metadata as well (e.g. how derived vectors were made).

    Returns the metadata: ``kind``, ``n``, ``dim``, ``build_s``, ``backend``, ``model``, ``params``,
    ``reused`` ("none" | "unchanged" | "ivf_quantizer") and ``fingerprint``.
    """
    config = config or load_embeddings_config().index
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    ids = [str(i) for i in ids]
    _validate(x, ids, backend, model)
    files = index_files(out_dir, name)
    files["meta"].parent.mkdir(parents=True, exist_ok=True)
    n, dim = int(x.shape[0]), int(x.shape[1])
    kind = choose_index_kind(n, config)
    fp = fingerprint(x, ids)
    old = read_meta(out_dir, name)
    same_space = bool(old) and (old["backend"], old["model"], old["dim"]) == (backend, model, dim)
    if same_space and old.get("fingerprint") == fp and old.get("kind") == kind and _files_present(old, files):
        meta = {**old, **(extra_meta or {})}
        if meta != old:  # same vectors, new notes on how they were made
            write_json(files["meta"], meta)
        return {**meta, "reused": "unchanged", "build_s": 0.0}

    t0 = time.perf_counter()
    set_threads(config)
    reused, params, index = "none", {}, None
    if kind == "hnsw":
        index, params = _build_hnsw(x, config)
    elif kind == "ivf":
        prior = _prior_ivf(files, old, n, config) if same_space and old.get("kind") == "ivf" else None
        index, params = _build_ivf(x, config, prior)
        reused = "ivf_quantizer" if prior is not None else "none"
    build_s = time.perf_counter() - t0

    write_npy(files["vectors"], x)
    write_json(files["ids"], ids)
    if index is not None:
        write_faiss(files["faiss"], index)
    elif files["faiss"].exists():
        files["faiss"].unlink()
    meta = {
        "name": name,
        "kind": kind,
        "n": n,
        "dim": dim,
        "backend": backend,
        "model": model,
        "metric": "inner_product",
        "params": params,
        "build_s": round(build_s, 4),
        "fingerprint": fp,
        "reused": reused,
        "built_at": datetime.now(timezone.utc).isoformat(),
        **(extra_meta or {}),
    }
    write_json(files["meta"], meta)
    log.info("index %s: %s over %d x %d (%s/%s) in %.2f s", name, kind, n, dim, backend, model, build_s)
    return meta


# --------------------------------------------------------------------------------------------
def _validate(x: np.ndarray, ids: list[str], backend: str, model: str) -> None:
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"need a non-empty [n, d] matrix of vectors, got shape {x.shape}")
    if len(ids) != x.shape[0]:
        raise ValueError(f"{len(ids)} ids for {x.shape[0]} vectors")
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be unique within one index")
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinite values")
    if not backend or not model:
        raise ValueError("backend and model must be named: an index never mixes embedding spaces")


def _files_present(meta: dict[str, Any], files: dict[str, Any]) -> bool:
    needed = ["ids", "vectors"] + (["faiss"] if meta.get("kind") != "flat" else [])
    return all(files[k].exists() for k in needed)


def _build_hnsw(x: np.ndarray, config: IndexConfig) -> tuple[Any, dict[str, Any]]:
    import faiss

    c = config.hnsw
    index = faiss.IndexHNSWFlat(x.shape[1], int(c.m), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(c.ef_construction)
    index.hnsw.efSearch = int(c.ef_search)
    index.add(x)
    return index, {"m": c.m, "ef_construction": c.ef_construction, "ef_search": c.ef_search}


def _prior_ivf(files: dict[str, Any], old: dict[str, Any], n: int, config: IndexConfig) -> Any | None:
    """The previous IVF index when its quantizer fits ``n`` vectors (same nlist), else ``None``."""
    import faiss

    if old.get("params", {}).get("nlist") != ivf_nlist(n, config) or not files["faiss"].exists():
        return None
    try:
        index = faiss.read_index(str(files["faiss"]))
    except RuntimeError:
        return None
    index.reset()  # drop the stored vectors, keep the trained coarse quantizer
    return index


def _build_ivf(x: np.ndarray, config: IndexConfig, prior: Any | None) -> tuple[Any, dict[str, Any]]:
    import faiss

    c = config.ivf
    nlist = ivf_nlist(x.shape[0], config)
    params: dict[str, Any] = {"nlist": nlist, "nprobe": c.nprobe, "kmeans_iters": c.kmeans_iters}
    if prior is None:
        quantizer = faiss.IndexFlatIP(x.shape[1])
        index = faiss.IndexIVFFlat(quantizer, x.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = int(c.seed)
        index.cp.niter = int(c.kmeans_iters)
        rng = np.random.default_rng(c.seed)
        n_train = min(x.shape[0], int(c.train_max_vectors), max(39, int(c.train_per_list)) * nlist)
        train = x if n_train == x.shape[0] else x[np.sort(rng.choice(x.shape[0], n_train, replace=False))]
        index.train(train)
        params["trained_on"] = n_train
    else:
        index = prior
        params["trained_on"] = "previous build"
    index.add(x)
    index.nprobe = int(c.nprobe)
    return index, params
