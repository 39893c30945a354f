"""The recommendation engine: candidate search, hard filters, relaxation, re-ranking.

Pure and in-memory: it takes the feature table, the intro index and the outro/track vectors
(already prepared, i.e. standardised and normalised like the index), so it is tested without any
files. :class:`dj_pipeline.query.Recommender` is the thin loader that builds one from a data dir.

``recommend``:
1. search the current track's outro vector against the intro index (``candidate_k`` + history);
2. drop the history and the current track;
3. strict filters: BPM (with half/double time) and key (only where both keys are clear); when
   fewer than ``min_strict_candidates`` of the candidates pass, widen the search: the
   ``max(candidate_k, min_strict_candidates)`` best strict-passing tracks of the whole library
   (exact inner product over just those rows) join the candidates, so a compatible track is
   never lost for lying beyond the first neighbours, and relaxation only happens when the
   library really lacks them;
4. score every candidate (components, weighted sum) and take the best strict passes; when they
   are fewer than ``top_k``, add candidates admitted by each relaxation step in turn (key first,
   then a wider BPM tolerance, then no BPM filter), each marked with what it breaks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.embeddings import StyleConfig, load_embeddings_config
from dj_pipeline.config.recommend import RecommendConfig, load_recommend_config
from dj_pipeline.index.style import extend_style_vector, graph_neighbors
from dj_pipeline.index.style import style_vectors as diffuse_style
from dj_pipeline.index.vector_index import numpy_search
from dj_pipeline.recommend.energy import bpm_direction_ok, direction_ok, given_levels, level_of, library_levels
from dj_pipeline.recommend.errors import EmptyLibraryError, RecommendError, UnknownTrackError
from dj_pipeline.recommend.features import prepare_features, prepare_row
from dj_pipeline.recommend.filters import bpm_compatible, bpm_tolerance, camelot_index, key_compatible_index
from dj_pipeline.recommend.pairs import intensity_z, pair_features, scalar
from dj_pipeline.recommend.results import build_results
from dj_pipeline.recommend.scoring import score_components, weighted_terms
from dj_pipeline.recommend.tiers import Checks, RelaxedBpm, levels, tiered_order
from dj_pipeline.recommend.vectors import SearchableIndex, VectorTable
from dj_pipeline.structure.mix import mix_length_fit

META_COLUMNS: tuple[str, ...] = ("path", "artist", "title", "duration_s", "genre", "duplicate_of")


@dataclass
class CurrentTrack:
    """The track playing now: a library track or an analysed outside file (``track_id`` None)."""

    features: Mapping[str, Any]  # prepared features of one track (see features.prepare_features)
    outro_vector: np.ndarray | None
    track_vector: np.ndarray | None
    track_id: str | None = None
    path: str | None = None

    def query_vector(self) -> np.ndarray:
        """The outro embedding (falls back to the pooled track embedding)."""
        v = self.outro_vector if self.outro_vector is not None else self.track_vector
        if v is None:
            raise UnknownTrackError(f"track {self.track_id or self.path!r} has no embedding to search with")
        return np.asarray(v, dtype=np.float32)


class RecommendationEngine:
    """Next-track recommendations over an in-memory library (see module docstring)."""

    def __init__(
        self,
        features: pd.DataFrame,
        intro_index: SearchableIndex,
        outro_vectors: Any,
        track_vectors: Any,
        config: RecommendConfig | None = None,
        tracks: pd.DataFrame | None = None,
        stats_table: pd.DataFrame | None = None,
        ranker: Any | None = None,
        index_dir: str | os.PathLike | None = None,
        style_vectors: Any | None = None,
        style_config: StyleConfig | None = None,
    ) -> None:
        """``features``: track_features rows; ``outro_vectors`` / ``track_vectors``: anything
        :meth:`VectorTable.from_any` takes; ``style_vectors``: the same for the library's style
        vectors (:mod:`dj_pipeline.index.style`; computed here from the track vectors when not
        given or not covering the same tracks), ``style_config`` how they were made (default:
        ``embeddings.yaml``); ``tracks``: catalog rows for path/artist/title;
        ``stats_table``: the feature_stats asset (library mean/std); ``ranker``: a trained
        TransitionRanker (adds the ``learned`` component); ``index_dir``: where the indexes and
        their library statistics live (to embed an outside file into the same space)."""
        self.config = config or load_recommend_config()
        if features is None or features.empty:
            raise EmptyLibraryError("the library has no analysed tracks: run `dj ingest` first")
        table, self.stats, self.fills = prepare_features(features, self.config, stats_table)
        if tracks is not None and not tracks.empty:
            meta = tracks.drop_duplicates("track_id", keep="last").set_index("track_id")
            for col in META_COLUMNS:
                if col in meta and col not in table:
                    table[col] = meta[col].reindex(table.index)
        for col in META_COLUMNS:
            if col not in table:
                table[col] = None
        table["duplicate_of"] = pd.Series([d if isinstance(d, str) and d else None for d in table["duplicate_of"]], index=table.index, dtype=object)
        # energy level 1..10 (recommend/energy.py): the analysis' column when there, else the library rank
        intensity = np.asarray(intensity_z(table, self.config), dtype=np.float64)
        self._sorted_intensity = np.sort(intensity)
        energy = self.config.energy
        levels_given = given_levels(table[energy.column] if energy.column in table else None, energy.levels)
        self.energy_levels_given = levels_given is not None
        table["energy_level"] = levels_given if levels_given is not None else library_levels(intensity, energy.levels)
        self.table = table
        # column arrays and row numbers: the per-request path indexes numpy, not pandas
        self._cols = {str(c): table[c].to_numpy() for c in table.columns}
        self._row = {str(t): i for i, t in enumerate(table.index)}
        self._z_cols = [f"z_{c}" for c in self.stats]
        self._camelot = camelot_index(self._cols["camelot"])
        # copies of another library track (fingerprint duplicate_of): never recommended
        self._copies = {str(t) for t, d in zip(table.index, self._cols["duplicate_of"]) if isinstance(d, str) and d}
        self.intro_index = intro_index
        if len(intro_index.ids) == 0:
            raise EmptyLibraryError("the intro index is empty: run `dj ingest` first")
        # table row of each intro-index row (-1: not analysed), for the widened, filtered search
        self._intro_rows = np.array([self._row.get(str(t), -1) for t in intro_index.ids], dtype=np.int64)
        self.outro = VectorTable.from_any(outro_vectors)
        self.track = VectorTable.from_any(track_vectors)
        # the track index itself when it can search (the pipeline's FAISS index: HNSW at scale)
        self._track_search = track_vectors if callable(getattr(track_vectors, "search", None)) else None
        self.style_config = style_config or load_embeddings_config().index.style
        self.style = self._style_table(style_vectors)
        self.ranker = ranker
        self.index_dir = Path(index_dir) if index_dir is not None else None

    def has_track(self, track_id: str) -> bool:
        return track_id in self._row

    def current_from_library(self, track_id: str) -> CurrentTrack:
        """The library track ``track_id`` as the current track (UnknownTrackError if absent)."""
        if not self.has_track(track_id):
            raise UnknownTrackError(f"unknown track {track_id!r}: not in the analysed library")
        i = self._row[track_id]
        row = {c: a[i] for c, a in self._cols.items()}
        path = row.get("path")
        return CurrentTrack(row, self.outro.get(track_id), self.track.get(track_id), track_id, path if isinstance(path, str) else None)

    def current_from_features(
        self,
        features: Mapping[str, Any],
        outro_vector: np.ndarray | None,
        track_vector: np.ndarray | None,
        path: str | None = None,
    ) -> CurrentTrack:
        """A track from outside the library (features from ``analyze_file``, prepared vectors)."""
        row = prepare_row(features, self.stats, self.fills).to_dict()
        levels = given_levels([row.get(self.config.energy.column)], self.config.energy.levels) if self.energy_levels_given else None
        row["energy_level"] = int((levels if levels is not None else level_of(intensity_z(row, self.config), self._sorted_intensity, self.config.energy.levels))[0])
        return CurrentTrack(row, outro_vector, track_vector, None, path)

    def recommend(
        self,
        current: str | CurrentTrack,
        goal: str | None = None,
        top_k: int | None = None,
        history: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Best-first recommendations after ``current`` (a track id or a :class:`CurrentTrack`).

        ``history``: track ids already played, oldest first; they are never recommended and the
        last ``diversity_last_n`` drive the diversity and variation terms. ``exclude``: more ids
        never to recommend (the library copies of the current song, say). Library tracks marked
        ``duplicate_of`` another track, and the copies of the current track, are never recommended.
        """
        cfg = self.config
        goal_name = goal or cfg.default_goal
        try:
            goal_spec = cfg.goal(goal_name)
        except ValueError as exc:
            raise RecommendError(str(exc)) from None
        top_k = cfg.top_k if top_k is None else int(top_k)
        if top_k < 1:
            raise RecommendError(f"top_k must be at least 1, got {top_k}")
        cur = current if isinstance(current, CurrentTrack) else self.current_from_library(str(current))
        history = [str(h) for h in history]
        excluded = set(history) | set(exclude) | ({cur.track_id} if cur.track_id else set()) | self.same_song(cur.track_id) | self._copies
        sims, cand_ids = self._search(cur, len(excluded))
        keep = [i for i, t in enumerate(cand_ids) if t not in excluded and t in self._row]
        sims, cand_ids = sims[keep], [cand_ids[i] for i in keep]
        rows = np.array([self._row[t] for t in cand_ids], dtype=np.int64)
        if int(self._strict(cur, rows).sum()) < cfg.min_strict_candidates:
            rows, sims = self._widen(cur, rows, sims, excluded)
            cand_ids = [str(t) for t in self.table.index[rows]]
        if not len(rows):
            return []
        candidates = {c: a[rows] for c, a in self._cols.items()}
        pairs = pair_features(cur.features, candidates, sims, cfg)
        # the last N tracks played before the current one: their embeddings drive the diversity
        # term (the current's relation to a candidate is the similarity term's job)
        earlier = [t for t in dict.fromkeys(history) if t != cur.track_id][-cfg.scoring.diversity_last_n :]
        recent_vectors = self.track.take(earlier)
        learned = self.ranker.predict(pairs) if self.ranker is not None else None
        cand_track_vectors = self.track.take(cand_ids)
        style_vector = self._style_vector(cur)
        style = self.style.take(cand_ids) @ style_vector if style_vector is not None else None
        comps = score_components(
            pairs, candidates, cand_track_vectors, recent_vectors, self._recent(earlier, cur), goal_spec, cfg, learned, style,
            mix_fit=mix_length_fit(cur.features, candidates),
        )
        weights = cfg.weights_for(goal_name)
        terms = weighted_terms(comps, weights)
        scores = sum(terms.values(), np.zeros(len(cand_ids)))
        checks = self._checks(cur, rows, pairs, goal_spec, style, history)
        order = tiered_order(scores, levels(checks, self._relaxed_bpm(cur, rows, goal_spec)), top_k)
        pool_means = {name: float(v.mean()) for name, v in terms.items()}
        return build_results(cand_ids, candidates, pairs, comps, terms, scores, order, pool_means, checks, cur.features, weights, cfg)

    def same_song(self, track_id: str | None) -> set[str]:
        """Library tracks that are the same recording as ``track_id`` (``duplicate_of`` either
        way, or a common original); empty for an outside file or a track without copies."""
        if track_id is None or "duplicate_of" not in self._cols:
            return set()
        dup = self._cols["duplicate_of"]
        ids = self.table.index
        root = dup[self._row[track_id]] if track_id in self._row and isinstance(dup[self._row[track_id]], str) else track_id
        return {str(ids[i]) for i in range(len(ids)) if ids[i] == root or dup[i] == root} - {track_id}

    def _checks(self, cur: CurrentTrack, rows: np.ndarray, pairs: Any, goal: Any, style: np.ndarray | None, history: Sequence[str]) -> Checks:
        """The per-candidate filters, goal direction and DJ rules (:mod:`dj_pipeline.recommend.tiers`)."""
        cfg = self.config
        key_ok, bpm_ok = self._filters(cur, rows)
        allowed, preferred = self._tempo_direction(cur, rows, goal, 1.0)
        level_delta = self._cols["energy_level"][rows] - int(cur.features.get("energy_level", 0) or 0)
        energy_ok = direction_ok(goal, pairs["energy_delta"].to_numpy(), level_delta, self._cols["energy_level"][rows], cfg.energy)
        near = np.abs(level_delta) <= cfg.energy.maintain_levels
        same = self.same_style(cur, rows, style)
        style_ok = same if cfg.rules.stay_in_style else np.ones(len(rows), dtype=bool)
        return Checks(key_ok, bpm_ok & allowed, energy_ok, near, preferred, self._artist_ok(cur, rows, history), style_ok, same)

    def same_style(self, cur: CurrentTrack, rows: np.ndarray, style: np.ndarray | None) -> np.ndarray:
        """Same genre tag where both tracks have one, else a close style vector: among the
        current track's ``style_neighbors`` nearest candidates or above ``min_style_cosine``."""
        rules = self.config.rules
        genre = _label(cur.features.get("genre"))
        cand_genre = np.array([_label(g) for g in self._cols["genre"][rows]], dtype=object)
        tagged = np.array([g is not None for g in cand_genre]) & (genre is not None)
        if style is None:
            by_sound = np.zeros(len(rows), dtype=bool)
        else:
            rank = np.argsort(np.argsort(-np.asarray(style), kind="stable"), kind="stable")
            by_sound = (rank < rules.style_neighbors) | (np.asarray(style) >= rules.min_style_cosine)
        return np.where(tagged, cand_genre == genre, by_sound)

    def _artist_ok(self, cur: CurrentTrack, rows: np.ndarray, history: Sequence[str]) -> np.ndarray:
        """False for a candidate by an artist of the last ``artist_window`` played tracks (the
        current one is the last)."""
        window = self.config.rules.artist_window
        if window <= 0:
            return np.ones(len(rows), dtype=bool)
        recent = [t for t in history if t != cur.track_id][-(window - 1) :] if window > 1 else []
        artists = {_label(self._cols["artist"][self._row[t]]) for t in recent if t in self._row} | {_label(cur.features.get("artist"))}
        artists.discard(None)
        return np.array([_label(a) not in artists for a in self._cols["artist"][rows]], dtype=bool)

    def _tempo_direction(self, cur: CurrentTrack, rows: np.ndarray, goal: Any, scale: float) -> tuple[np.ndarray, np.ndarray]:
        bpm = scalar(cur.features["bpm"])
        tol = bpm_tolerance(bpm, self.config.bpm, scale) if np.isfinite(bpm) else 0.0
        return bpm_direction_ok(goal, bpm, np.asarray(self._cols["bpm"][rows], dtype=np.float64), tol)

    def _relaxed_bpm(self, cur: CurrentTrack, rows: np.ndarray, goal: Any) -> list[RelaxedBpm]:
        """The BPM mask of each relaxation step, the goal's tempo direction widened with it."""
        out = []
        for step in self.config.relaxation:
            _, bpm_step = self._filters(cur, rows, step.bpm_tolerance_scale, step.drop_bpm)
            if not step.drop_bpm:
                bpm_step = bpm_step & self._tempo_direction(cur, rows, goal, step.bpm_tolerance_scale)[0]
            out.append(RelaxedBpm(step.drop_key, bpm_step, step.bpm_tolerance_scale == 1.0 and not step.drop_bpm))
        return out

    def _search(self, cur: CurrentTrack, n_excluded: int) -> tuple[np.ndarray, list[str]]:
        k = min(self.config.candidate_k + n_excluded, len(self.intro_index.ids))
        scores, ids = self.intro_index.search(cur.query_vector()[None, :], k)
        ids_row = [str(t) for t in list(ids[0])]
        sims = np.asarray(scores[0], dtype=np.float64)
        valid = [i for i, t in enumerate(ids_row) if t not in ("", "-1", "None")]
        return sims[valid], [ids_row[i] for i in valid]

    def _style_table(self, style_vectors: Any | None) -> VectorTable:
        """The library's style vectors, one per track vector (diffused here when missing/stale)."""
        if style_vectors is not None:
            table = VectorTable.from_any(style_vectors)
            if set(table.ids) == set(self.track.ids) and table.dim == self.track.dim:
                return table
        if not len(self.track):
            return self.track
        search = getattr(self._track_search, "search_rows", None)
        return VectorTable(self.track.ids, diffuse_style(self.track.vectors, self.style_config, search))

    def _style_vector(self, cur: CurrentTrack) -> np.ndarray | None:
        """What "the same kind of track" is measured against: the current track's style vector,
        i.e. its place in the library's neighbourhood graph; for a track from outside the library,
        extended from its nearest library tracks (as many as the graph has per track) in the same way."""
        if cur.track_id is not None and cur.track_id in self.style:
            return np.asarray(self.style.get(cur.track_id), dtype=np.float64)
        if cur.track_vector is None or not len(self.track):
            return None
        v = np.asarray(cur.track_vector, dtype=np.float32)
        rows = self._nearest_tracks(v, min(graph_neighbors(len(self.track), self.style_config), len(self.track)), cur.track_id)
        sims = self.track.vectors[rows] @ v
        neighbours = self.style.take([self.track.ids[r] for r in rows])
        return extend_style_vector(v, sims, neighbours, self.style_config).astype(np.float64)

    def _nearest_tracks(self, vector: np.ndarray, k: int, skip: str | None) -> np.ndarray:
        """Rows of :attr:`track` of the ``k`` library tracks nearest ``vector`` (not ``skip``):
        through the track index's own search when it has one, else exactly in NumPy."""
        q = np.asarray(vector, dtype=np.float32)
        if self._track_search is not None:
            _, found = self._track_search.search(q[None, :], k + 1)
            rows = [self.track.row(str(t)) for t in list(found[0]) if str(t) != skip and str(t) in self.track][:k]
            if len(rows) == k:
                return np.asarray(rows, dtype=np.int64)
        _, found = numpy_search(self.track.vectors, q[None, :], k + 1)
        skip_row = self.track.row(skip) if skip in self.track else -1
        return np.asarray([r for r in found[0] if r != skip_row][:k], dtype=np.int64)

    def _recent(self, earlier_ids: list[str], cur: CurrentTrack) -> dict[str, np.ndarray]:
        """z-feature columns of the recently played library tracks plus the current track (the
        reference of the variation term)."""
        rows = [self._row[t] for t in earlier_ids if t in self._row]
        return {c: np.append(self._cols[c][rows].astype(np.float64), float(cur.features[c])) for c in self._z_cols}

    def _filters(self, cur: CurrentTrack, rows: np.ndarray, bpm_scale: float = 1.0, drop_bpm: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(key_ok, bpm_ok)`` of the table ``rows`` after ``cur``: the hard filters, with the BPM
        tolerance widened by ``bpm_scale`` (or dropped) for a relaxation step."""
        cfg = self.config
        f = cur.features
        key_ok = key_compatible_index(
            int(camelot_index([f.get("camelot")])[0]), scalar(f["key_clarity"]), self._camelot[rows], self._cols["key_clarity"][rows], cfg.key
        )
        if drop_bpm:
            return key_ok, np.ones(len(rows), dtype=bool)
        return key_ok, bpm_compatible(scalar(f["bpm"]), np.asarray(self._cols["bpm"][rows], dtype=np.float64), cfg.bpm, bpm_scale)

    def _strict(self, cur: CurrentTrack, rows: np.ndarray) -> np.ndarray:
        key_ok, bpm_ok = self._filters(cur, rows)
        return key_ok & bpm_ok

    def _widen(self, cur: CurrentTrack, rows: np.ndarray, sims: np.ndarray, excluded: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """``rows``/``sims`` plus the ``max(candidate_k, min_strict_candidates)`` strict-passing
        library tracks most similar to the current outro (exact inner product over the intro
        vectors of those tracks only)."""
        lib = self._intro_rows
        usable = lib >= 0
        usable[usable] = self._strict(cur, lib[usable])
        taken = np.zeros(len(self.table), dtype=bool)
        taken[rows] = True
        taken[[self._row[t] for t in excluded if t in self._row]] = True
        usable &= ~taken[np.maximum(lib, 0)]
        pos = np.flatnonzero(usable)
        if not len(pos):
            return rows, sims
        extra = np.asarray(self.intro_index.vectors[pos], dtype=np.float32) @ cur.query_vector()
        best = np.argsort(-extra, kind="stable")[: max(self.config.candidate_k, self.config.min_strict_candidates)]
        return np.concatenate([rows, lib[pos[best]]]), np.concatenate([sims, extra[best].astype(np.float64)])


def _label(value: Any) -> str | None:
    """An artist or genre tag compared case- and space-insensitively (``None`` when untagged)."""
    return value.strip().casefold() if isinstance(value, str) and value.strip() else None
