"""``dj similar``: the library tracks nearest a track by sound (Rekordbox's "related tracks").

No goal, no filters: the cosine of the pooled track embeddings, best first, the track itself and
its copies (fingerprint ``duplicate_of``) left out. Each result carries the same readable fields
as a recommendation: a 0-100 match (the cosine, floored at 0), BPM, key, energy level and reasons
in words (key and tempo relation, same style).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dj_pipeline.recommend.engine import CurrentTrack, RecommendationEngine
from dj_pipeline.recommend.errors import RecommendError
from dj_pipeline.recommend.explain import energy_phrase, key_phrase, tempo_phrase
from dj_pipeline.recommend.filters import bpm_match, key_relation
from dj_pipeline.recommend.results import num, text


def similar_tracks(engine: RecommendationEngine, cur: CurrentTrack, top_k: int = 10) -> list[dict[str, Any]]:
    """The ``top_k`` library tracks whose sound is nearest ``cur``'s."""
    if top_k < 1:
        raise RecommendError(f"top_k must be at least 1, got {top_k}")
    if cur.track_vector is None or not len(engine.track):
        raise RecommendError("no track embedding to compare with: run `dj ingest` first")
    skip = engine.same_song(cur.track_id) | engine._copies | ({cur.track_id} if cur.track_id else set())
    vector = np.asarray(cur.track_vector, dtype=np.float32)
    k = min(len(engine.track), top_k + len(skip) + 1)
    rows = engine._nearest_tracks(vector, k, cur.track_id)
    ids = [engine.track.ids[r] for r in rows if engine.track.ids[r] not in skip and engine.has_track(engine.track.ids[r])][:top_k]
    if not ids:
        return []
    cos = engine.track.take(ids) @ vector
    table = engine.table.loc[ids]
    f = cur.features
    _, ratio = bpm_match(num(f.get("bpm")) or np.nan, table["bpm"].to_numpy(dtype=np.float64), engine.config.bpm.half_double, engine.config.bpm.half_double_band_bpm)
    dist, _ = key_relation(f.get("camelot"), table["camelot"].to_numpy(dtype=object))
    clarity = np.minimum(float(f.get("key_clarity") or 0.0), table["key_clarity"].to_numpy(dtype=np.float64))
    out = []
    for i, tid in enumerate(ids):
        row = table.iloc[i]
        words = [energy_phrase(int(row["energy_level"]) - int(f.get("energy_level") or row["energy_level"]))]
        words += [w for w in (key_phrase(text(f.get("camelot")), text(row["camelot"]), int(dist[i]), float(clarity[i]), engine.config.key.min_clarity),
                              tempo_phrase(num(f.get("bpm")), num(row["bpm"]), float(ratio[i]))) if w]  # fmt: skip
        out.append(
            {
                "track_id": tid, "path": text(row.get("path")), "artist": text(row.get("artist")), "title": text(row.get("title")),
                "score": float(cos[i]), "match": round(100.0 * max(float(cos[i]), 0.0), 1),
                "bpm": num(row["bpm"]), "key": text(row["key"]), "camelot": text(row["camelot"]),
                "energy": num(row["energy"]), "energy_level": int(row["energy_level"]), "reasons": words[:3], "relaxed": [],
            }
        )  # fmt: skip
    return out
