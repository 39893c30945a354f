"""Embedding quality on the real dev set: what ``embedding_quality.py --realset`` prints.

Vectors are made the way the pipeline makes them (``stages/embeddings_stage.py``): the track's
sampled windows (``select_windows`` + ``read_windows`` at the embedder's rate), one ``embed`` call
per track, ``pool_track_vector`` for the track vector; then the library standardiser fitted over
every stored vector of the set (intro, outro and track vectors, as ``index_stage`` does), which is
what the index and the style graph see.

Scores (cosine, each item left out of its own neighbours):

- ``genre@k``: on the 99 GTZAN clips, the share of the k nearest clips with the same genre;
- ``same_source@5``: on the 62 game songs, the share of the 5 nearest songs from the same
  repository/soundtrack (``dataset``) -- a weaker signal (one repository mixes styles);
- speed: seconds of window audio per CPU second of the embedder (``time.process_time``, all
  threads counted), i.e. x real time *per core*, robust to other load on the machine.

Beside each backend: the MFCC baseline of the issue (mean/std of 20 MFCCs and of spectral
contrast from librosa over the same windows, z-scored over the set) and random neighbours.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import pandas as pd

from dj_pipeline.embeddings import fit_library_standardizer, pool_track_vector
from dj_pipeline.index import neighbour_label_agreement, random_label_agreement
from dj_pipeline.windows import read_windows, select_windows

GENRE_KS = (5, 10)
SOURCE_K = 5
INDEXED = ("intro", "outro", "track")  # the vectors the library standardiser is fitted on
MFCC_SR, N_MFCC = 22050, 20
TRACK_WINDOWS = ("main", "tail")  # what the pooled track vector hears (pool weights in embeddings.yaml)


@dataclass
class RealVectors:
    """Stored per-window vectors of every item, and the CPU time it took to make them."""

    name: str
    model: str
    windows: list[dict[str, np.ndarray]]
    audio_s: float
    cpu_s: float
    extra: dict = field(default_factory=dict)

    @property
    def x_realtime_per_core(self) -> float:
        return self.audio_s / max(self.cpu_s, 1e-9)


def window_audio(truth: pd.DataFrame, sr: int, cache: dict) -> list[dict[str, np.ndarray]]:
    """Each item's sampled windows at ``sr`` (chosen once, decoded once per rate, kept in ``cache``)."""
    if "windows" not in cache:
        cache["windows"] = [select_windows(p) for p in truth["path"]]
    if sr not in cache:
        cache[sr] = [read_windows(p, w, sr) for p, w in zip(truth["path"], cache["windows"])]
    return cache[sr]


def embed_realset(embedder, audio: Sequence[dict[str, np.ndarray]]) -> RealVectors:  # noqa: ANN001 - any Embedder
    """Stored vectors per window plus the pooled ``track`` vector, as the embeddings stage makes them."""
    out: list[dict[str, np.ndarray]] = []
    audio_s = cpu_s = 0.0
    embedder.embed([np.zeros(embedder.sr, dtype=np.float32)], embedder.sr)  # load weights outside the timing
    for segs in audio:
        names = list(segs)
        t0 = time.process_time()
        vecs = dict(zip(names, embedder.embed([segs[n] for n in names], embedder.sr)))
        cpu_s += time.process_time() - t0
        audio_s += sum(s.size for s in segs.values()) / embedder.sr
        vecs["track"] = pool_track_vector(vecs)
        out.append(vecs)
    return RealVectors(embedder.backend, embedder.model, out, audio_s, cpu_s)


def mfcc_stats(y: np.ndarray, sr: int) -> np.ndarray:
    """The baseline's features of one clip: mean/std of 20 MFCCs and of spectral contrast."""
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=N_MFCC)
    contrast = librosa.feature.spectral_contrast(y=y, sr=sr)
    return np.concatenate([mfcc.mean(1), mfcc.std(1), contrast.mean(1), contrast.std(1)]).astype(np.float32)


def mfcc_baseline(audio: Sequence[dict[str, np.ndarray]]) -> RealVectors:
    """MFCC statistics over the windows the track vector hears (main + tails), z-scored over the set."""
    rows: list[np.ndarray] = []
    audio_s = cpu_s = 0.0
    for segs in audio:
        heard = [segs[n] for n in segs if n.split("_", 1)[0] in TRACK_WINDOWS] or list(segs.values())
        y = np.concatenate(heard)
        t0 = time.process_time()
        rows.append(mfcc_stats(y, MFCC_SR))
        cpu_s += time.process_time() - t0
        audio_s += y.size / MFCC_SR
    x = np.stack(rows)
    z = (x - x.mean(0)) / np.maximum(x.std(0), 1e-9)
    return RealVectors("mfcc", "librosa mfcc20+contrast mean/std", [{"track": v} for v in z], audio_s, cpu_s)


def standardised_tracks(vectors: RealVectors) -> np.ndarray:
    """Track vectors in the index space: the backend's library standardiser fitted on intro/outro/track."""
    tracks = np.stack([w["track"] for w in vectors.windows])
    if vectors.name == "mfcc":
        return tracks
    fit_on = np.vstack([np.stack([w[n] for w in vectors.windows if n in w]) for n in INDEXED])
    return fit_library_standardizer(fit_on, vectors.name).transform(tracks)


def scores(track_vectors: np.ndarray, truth: pd.DataFrame) -> dict[str, float]:
    """genre@5/@10 on GTZAN and same_source@5 on the game songs, for one set of track vectors."""
    gtzan = truth["is_gtzan"].to_numpy()
    out = {f"genre@{k}": neighbour_label_agreement(track_vectors[gtzan], truth["genre"][gtzan].tolist(), k) for k in GENRE_KS}
    games = ~gtzan
    out[f"same_source@{SOURCE_K}"] = neighbour_label_agreement(track_vectors[games], truth["dataset"][games].tolist(), SOURCE_K)
    return out


def random_scores(truth: pd.DataFrame) -> dict[str, float]:
    gtzan = truth["is_gtzan"].to_numpy()
    genre = random_label_agreement(truth["genre"][gtzan].tolist())
    return {**{f"genre@{k}": genre for k in GENRE_KS}, f"same_source@{SOURCE_K}": random_label_agreement(truth["dataset"][~gtzan].tolist())}


def cached_vectors(emb, truth: pd.DataFrame, cache: dict, vectors_dir: Path | None) -> RealVectors:  # noqa: ANN001
    """The set's vectors for ``emb``, reused from ``vectors_dir`` when that holds the same model's
    (scratch space only: vectors of the real set must never be committed)."""
    f = None if vectors_dir is None else Path(vectors_dir) / f"{emb.backend}.pkl"
    if f is not None and f.is_file():
        with f.open("rb") as fh:
            vec = pickle.load(fh)
        if vec.model == emb.model and len(vec.windows) == len(truth):
            return vec
    vec = embed_realset(emb, window_audio(truth, emb.sr, cache))
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        with f.open("wb") as fh:
            pickle.dump(vec, fh)
    return vec


def realset_table(truth: pd.DataFrame, embedders: dict[str, Callable[[], object]], vectors_dir: Path | None = None) -> list[dict]:
    """One row per backend (its stored and standardised track vectors), the MFCC baseline and random."""
    cache: dict = {}
    rows: list[dict] = []
    for name, make in embedders.items():
        try:
            emb = make()
        except Exception as exc:  # noqa: BLE001 - a backend not installed here is reported, not fatal
            rows.append({"vectors": name, "skipped": str(exc).split(". ")[0]})
            continue
        vec = cached_vectors(emb, truth, cache, vectors_dir)
        stored = np.stack([w["track"] for w in vec.windows])
        speed = round(vec.x_realtime_per_core, 1)
        rows.append({"vectors": f"{name} stored", "model": vec.model, **scores(stored, truth), "x_rt_core": speed})
        rows.append({"vectors": f"{name} standardised", "model": vec.model, **scores(standardised_tracks(vec), truth), "x_rt_core": speed})
    base = mfcc_baseline(window_audio(truth, MFCC_SR, cache))
    rows.append({"vectors": "mfcc baseline", "model": base.model, **scores(standardised_tracks(base), truth), "x_rt_core": round(base.x_realtime_per_core, 1)})
    rows.append({"vectors": "random", **random_scores(truth)})
    return rows


def print_table(rows: list[dict], realset: Path) -> None:
    cols = [f"genre@{k}" for k in GENRE_KS] + [f"same_source@{SOURCE_K}", "x_rt_core"]
    print(f"\nReal dev set {realset}: GTZAN 99 clips (genre), game songs 62 (same repository); cosine, leave-self-out")
    print(f"{'vectors':<26}" + "".join(f"{c:>16}" for c in cols))
    for r in rows:
        if "skipped" in r:
            print(f"{r['vectors']:<26}  not available: {r['skipped']}")
            continue
        cells = [f"{r[c]:>16.3f}" if isinstance(r.get(c), float) and c != "x_rt_core" else f"{r.get(c, ''):>16}" for c in cols]
        print(f"{r['vectors']:<26}" + "".join(cells))
    print("x_rt_core: seconds of window audio per CPU second (process time, all threads), not wall time")
