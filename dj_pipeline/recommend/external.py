"""A track from outside the library as the current track: analysed and embedded on the fly.

The same code as the pipeline's stages runs: windows chosen by ``select_windows`` (seeded by the
file's content id, like the catalog's), features by ``analyze_segments`` at the analysis rate,
window embeddings by the embedder of the library's index (same backend and model), the track
vector by ``pool_track_vector``, and both query vectors mapped into the index space by
``prepare_vectors`` with the library statistics saved beside the index.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dj_pipeline.recommend.engine import CurrentTrack, RecommendationEngine
from dj_pipeline.recommend.errors import RecommendError
from dj_pipeline.storage import DataPaths


def analyze_external(path: Path, engine: RecommendationEngine, paths: DataPaths) -> CurrentTrack:
    """Features and prepared outro/track vectors of the audio file ``path``.

    Raises :class:`RecommendError` when the file cannot be decoded or the library's embedding
    backend cannot run here (e.g. CLAP weights missing on this machine).
    """
    from dj_pipeline.analysis import analyze_segments, load_analysis_config
    from dj_pipeline.audio import AudioDecodeError, probe
    from dj_pipeline.catalog.admission import refusal
    from dj_pipeline.catalog.hashing import content_id
    from dj_pipeline.config.ingest import load_ingest_config
    from dj_pipeline.embeddings import BackendUnavailableError, EmbeddingError, get_embedder, pool_track_vector, prepare_vectors
    from dj_pipeline.windows import read_windows, select_windows

    backend = getattr(engine.intro_index, "backend", None)
    model = getattr(engine.intro_index, "model", None)
    if backend is None:
        raise RecommendError("the library index does not say which embedder built it; cannot embed an outside file")
    cfg = load_analysis_config()
    try:
        refused = refusal(path)  # the same rules as ingest: no recommendations after a silent or 3-second file
        if refused is not None:
            raise RecommendError(f"cannot use {path} as the current track: {refused} (ingest refuses it too)")
        duration_s = probe(path).duration_s
        windows = select_windows(path, track_id=content_id(path, load_ingest_config().hash_chunk_bytes))
        features = analyze_segments(read_windows(path, windows, cfg.sr), cfg.sr, duration_s, cfg)
        embedder = get_embedder(backend=backend, model=model if backend == "clap" else None)
        segments = read_windows(path, windows, embedder.sr)
        names = list(segments)
        per_window = dict(zip(names, embedder.embed([segments[n] for n in names], sr=embedder.sr)))
        track_vec = pool_track_vector(per_window)
        outro_vec = per_window.get("outro", track_vec)
        prepared = prepare_vectors(np.stack([outro_vec, track_vec]), backend, engine.index_dir or paths.index_dir)
    except (AudioDecodeError, EmbeddingError, BackendUnavailableError, FileNotFoundError) as exc:
        raise RecommendError(f"cannot analyse {path}: {exc}") from None
    return engine.current_from_features(features, prepared[0], prepared[1], path=str(path))
