"""Text search over track vectors: CLAP's text tower maps a prompt into the audio space."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from dj_pipeline.errors import UserError
from dj_pipeline.index.vector_index import VectorIndex


class TextSearchUnavailable(UserError, RuntimeError):
    """The library's index was not built with a backend that can embed text."""


def search_text(
    index_dir: str | os.PathLike,
    texts: str | Sequence[str],
    k: int = 20,
    name: str = "track",
    device: str | None = None,
    embedder: Any | None = None,
) -> list[list[tuple[str, float]]]:
    """For each text, the ``k`` best ``(track_id, score)`` pairs from index ``name``.

    Needs an index built with the ``clap`` backend (its model is reused for the text tower, so
    text and audio share one space); a ``dsp`` index raises :class:`TextSearchUnavailable`
    naming the backend to use. ``embedder`` lets a caller pass an already-loaded CLAP embedder.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    index = VectorIndex.load(index_dir, name)
    if index.backend != "clap":
        raise TextSearchUnavailable(
            f"text search needs the 'clap' embedding backend; the {name!r} index in {index_dir} was built with "
            f"{index.backend!r} ({index.model}). Put CLAP weights on disk and re-ingest with `dj ingest --backend clap`."
        )
    if embedder is None:
        from dj_pipeline.embeddings import get_embedder

        embedder = get_embedder("clap", model=index.model, device=device)
    if (embedder.backend, embedder.model) != (index.backend, index.model):
        raise TextSearchUnavailable(f"embedder {embedder.backend}/{embedder.model} does not match index {index.backend}/{index.model}")
    q = np.asarray(embedder.embed_text(texts), dtype=np.float32)
    scores, ids = index.search(q, k)
    return [list(zip(row_ids, map(float, row_scores))) for row_ids, row_scores in zip(ids, scores)]
