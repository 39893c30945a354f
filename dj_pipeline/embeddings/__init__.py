"""Audio embeddings per window (``dsp`` offline default, ``clap`` with local weights) and the
library standardisation shared by index build and query.

```python
from dj_pipeline.embeddings import get_embedder, pool_track_vector, prepare_vectors
emb = get_embedder("auto")                 # clap if its weights are on disk, else dsp
vecs = emb.embed([y_intro, y_main], sr=emb.sr)   # float32 [n, emb.dim], L2-normalised
track_vec = pool_track_vector({"main": vecs[1]})
```
"""

from dj_pipeline.embeddings.base import (
    EMBEDDING_WINDOWS,
    BackendUnavailableError,
    Embedder,
    EmbedderInfo,
    EmbeddingError,
    l2_normalize,
)
from dj_pipeline.embeddings.batch import embed_tracks
from dj_pipeline.embeddings.clap import find_local_clap
from dj_pipeline.embeddings.dsp import DspEmbedder
from dj_pipeline.embeddings.factory import get_embedder, resolve_backend
from dj_pipeline.embeddings.pooling import pool_track_vector
from dj_pipeline.embeddings.standardize import (
    DspStandardizer,
    IdentityStandardizer,
    fit_library_standardizer,
    load_standardizer,
    prepare_vectors,
)

__all__ = [
    "EMBEDDING_WINDOWS",
    "BackendUnavailableError",
    "DspEmbedder",
    "DspStandardizer",
    "Embedder",
    "EmbedderInfo",
    "EmbeddingError",
    "IdentityStandardizer",
    "embed_tracks",
    "find_local_clap",
    "fit_library_standardizer",
    "get_embedder",
    "l2_normalize",
    "load_standardizer",
    "pool_track_vector",
    "prepare_vectors",
    "resolve_backend",
]
