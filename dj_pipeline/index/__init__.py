"""Vector indexes over embeddings: intro vectors (outro->intro search) and track vectors.

```python
from dj_pipeline.index import build_index, VectorIndex
meta = build_index(vectors, ids, out_dir, "intro", backend="dsp", model=emb.model)
idx = VectorIndex.load(out_dir, "intro")
scores, ids = idx.search(queries, k=200)
```
"""

from dj_pipeline.index.build import build_index, choose_index_kind
from dj_pipeline.index.evaluate import neighbour_label_agreement, random_label_agreement, recall_at_k
from dj_pipeline.index.text import search_text
from dj_pipeline.index.vector_index import VectorIndex, numpy_search

__all__ = [
    "VectorIndex",
    "build_index",
    "choose_index_kind",
    "neighbour_label_agreement",
    "numpy_search",
    "random_label_agreement",
    "recall_at_k",
    "search_text",
]
