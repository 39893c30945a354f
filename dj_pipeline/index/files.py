"""On-disk layout of one named vector index, written atomically (temp file + rename).

``<dir>/<name>.meta.json``   kind, n, dim, backend, model, parameters, build time, fingerprint
``<dir>/<name>.ids.json``    the id of each row, in row order
``<dir>/<name>.vectors.npy`` float32 [n, dim] (exact re-scoring and the NumPy search path)
``<dir>/<name>.faiss``       the FAISS index, for approximate kinds only (flat is rebuilt from the
                             vectors at load, which costs one copy and saves storing them twice)

The metadata file is written last, so a reader that finds it finds the files it describes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def check_name(name: str) -> str:
    if not name or not set(name) <= _NAME_OK:
        raise ValueError(f"index name must be non-empty letters, digits, '_' or '-', got {name!r}")
    return name


def index_files(out_dir: str | os.PathLike, name: str) -> dict[str, Path]:
    d = Path(out_dir)
    check_name(name)
    return {
        "meta": d / f"{name}.meta.json",
        "ids": d / f"{name}.ids.json",
        "vectors": d / f"{name}.vectors.npy",
        "faiss": d / f"{name}.faiss",
    }


def fingerprint(vectors: np.ndarray, ids: list[str]) -> str:
    """Content hash of ids and vectors: an unchanged library gives an unchanged fingerprint."""
    h = hashlib.sha256()
    h.update(json.dumps(ids).encode())
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return h.hexdigest()[:32]


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_json(path: Path, obj: Any) -> None:
    tmp = _tmp(path)
    tmp.write_text(json.dumps(obj, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_npy(path: Path, arr: np.ndarray) -> None:
    tmp = _tmp(path)
    with tmp.open("wb") as fh:
        np.save(fh, arr)
    os.replace(tmp, path)


def write_faiss(path: Path, index: Any) -> None:
    import faiss

    tmp = _tmp(path)
    faiss.write_index(index, str(tmp))
    os.replace(tmp, path)


def read_meta(out_dir: str | os.PathLike, name: str) -> dict[str, Any] | None:
    p = index_files(out_dir, name)["meta"]
    if not p.exists():
        return None
    return json.loads(p.read_text(encoding="utf-8"))
