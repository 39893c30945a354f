"""Answer "what next?" from the materialized assets (INTERFACE.md "Python API").

```python
from dj_pipeline.query import Recommender, SessionRecommender
rec = Recommender(data_dir="data")
rec.recommend(current="path/or/track_id", goal="up", top_k=10, history=[...])

session = SessionRecommender(data_dir="data", session="friday", plan="warm-up 30 min -> peak -> release")
recs = session.next(current="now.mp3")        # goal from the plan unless given
session.add_played(recs[0]["track_id"])        # persisted; logs the choice as feedback
session.export_m3u8("friday.m3u8")
```

The work is done by :class:`dj_pipeline.recommend.RecommendationEngine`; this module loads it
from the data directory, resolves what the DJ typed (track id, library path, or any audio file,
which is analysed and embedded on the fly), and keeps session state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dj_pipeline.audio import AudioDecodeError, probe
from dj_pipeline.catalog.hashing import content_id
from dj_pipeline.config.ingest import load_ingest_config
from dj_pipeline.config.recommend import RecommendConfig, load_recommend_config
from dj_pipeline.recommend.engine import CurrentTrack, RecommendationEngine
from dj_pipeline.recommend.errors import RecommendError, UnknownTrackError
from dj_pipeline.recommend.output import format_table, results_to_json, write_m3u8
from dj_pipeline.recommend.plan import SetPlan, parse_set_plan
from dj_pipeline.recommend.session import PlayedTrack, SessionStore, check_session_name
from dj_pipeline.storage import DataPaths

EXTERNAL_CACHE_SIZE = 8  # outside files kept analysed (a session asks about the playing one repeatedly)
ExternalAnalyzer = Callable[[Path, RecommendationEngine, DataPaths], CurrentTrack]


class Recommender:
    """Next-track recommendations over the library in ``data_dir``."""

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        config: RecommendConfig | None = None,
        engine: RecommendationEngine | None = None,
        external_analyzer: ExternalAnalyzer | None = None,
        fingerprints: Any | None = None,
    ) -> None:
        """Loads the assets of ``data_dir`` (``$DJ_DATA_DIR`` or ``./data`` by default); pass an
        ``engine`` to use an in-memory library instead. Raises EmptyLibraryError before an ingest."""
        from dj_pipeline.recommend.loader import load_engine

        self.paths = DataPaths(data_dir)
        self.config = config or (engine.config if engine is not None else load_recommend_config())
        self.engine = engine if engine is not None else load_engine(self.paths, self.config)
        self._by_path: dict[str, str] = {}
        for track_id, path in self.engine.table["path"].items():
            if isinstance(path, str):
                self._by_path[path] = str(track_id)
        self._external = external_analyzer
        self._external_cache: dict[tuple[str, int, int], CurrentTrack] = {}
        self._fingerprints = fingerprints  # a FingerprintIndex; read from the data dir when first needed
        self.identified: dict[str, str] = {}  # outside file -> the library track it is a recording of

    def track_id(self, ref: str | os.PathLike) -> str | None:
        """Library track id of ``ref`` (an id, a library path, or a file whose content id is a
        library track's); ``None`` for another existing file; UnknownTrackError otherwise."""
        s = str(ref)
        if self.engine.has_track(s):
            return s
        for candidate in (s, str(Path(s).expanduser().resolve())):
            if candidate in self._by_path:
                return self._by_path[candidate]
        if Path(s).expanduser().is_file():
            # a copy or a moved file of a library track has the same content id
            digest = content_id(Path(s).expanduser(), load_ingest_config().hash_chunk_bytes)
            return digest if self.engine.has_track(digest) else None
        raise UnknownTrackError(f"unknown track {s!r}: not a library track id, a library path, or an existing audio file")

    def resolve(self, ref: str | os.PathLike) -> CurrentTrack:
        """The current track for ``ref``; an outside file is analysed and embedded on the fly
        (once: the last few results are cached by path, size and modification time)."""
        track_id = self.track_id(ref)
        if track_id is not None:
            return self.engine.current_from_library(track_id)
        from dj_pipeline.recommend.external import analyze_external

        path = Path(str(ref)).expanduser().resolve()
        same = self.identify(path)
        if same is not None:  # an excerpt, a re-encode, another format of a library track
            self.identified[str(path)] = same
            return self.engine.current_from_library(same)
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._external_cache:
            analyze = self._external or analyze_external
            self._external_cache[key] = analyze(path, self.engine, self.paths)
            while len(self._external_cache) > EXTERNAL_CACHE_SIZE:
                self._external_cache.pop(next(iter(self._external_cache)))
        return self._external_cache[key]

    def identify(self, path: str | os.PathLike) -> str | None:
        """The library track ``path`` is a recording of (its fingerprint matches: an excerpt, a
        re-encode, another format), else ``None``; ``None`` too before fingerprints exist."""
        from dj_pipeline.fingerprint import fingerprint_file

        if str(path) in self.identified:
            return self.identified[str(path)]
        index = self._fingerprint_index()
        if index is None or not len(index):
            return None
        try:
            hashes, times = fingerprint_file(path, index.config)
        except AudioDecodeError:
            return None
        hits = [m for m in index.match(hashes, times) if self.engine.has_track(m.track_id)]
        return hits[0].track_id if hits else None

    def _fingerprint_index(self) -> Any | None:
        if self._fingerprints is None:
            from dj_pipeline.fingerprint.stage import ASSET, index_from_rows
            from dj_pipeline.storage import read_asset

            rows = read_asset(self.paths, ASSET)
            self._fingerprints = index_from_rows(rows) if not rows.empty and "fp_hashes" in rows else False
        return self._fingerprints or None

    def history_ids(self, history: Sequence[str | os.PathLike]) -> list[str]:
        """Library ids of the played tracks (outside files cannot be recommended, so they drop)."""
        ids = [self.track_id(h) for h in history]
        return [i for i in ids if i is not None]

    def recommend(
        self,
        current: str | os.PathLike | CurrentTrack,
        goal: str | None = None,
        top_k: int | None = None,
        history: Sequence[str | os.PathLike] = (),
    ) -> list[dict[str, Any]]:
        """Best-first list of dicts: track_id, path, artist, title, score, bpm, key, camelot,
        energy, duration_s, components (each re-ranking term), contributions (each term times its weight;
        they add up to the score) and relaxed (constraints broken)."""
        cur = current if isinstance(current, CurrentTrack) else self.resolve(current)
        return self.engine.recommend(cur, goal=goal, top_k=top_k, history=self.history_ids(history))

    def similar(self, ref: str | os.PathLike | CurrentTrack, top_k: int = 10) -> list[dict[str, Any]]:
        """The library tracks nearest ``ref`` by sound (no goal, no filters), best first; the
        track itself and its copies are left out (:mod:`dj_pipeline.recommend.similar`)."""
        from dj_pipeline.recommend.similar import similar_tracks

        cur = ref if isinstance(ref, CurrentTrack) else self.resolve(ref)
        return similar_tracks(self.engine, cur, int(top_k))

    def search_text(self, text: str, top_k: int = 10, device: str | None = None) -> list[dict[str, Any]]:
        """Tracks whose sound matches a description ("dark rolling techno"), best first.

        Needs a library embedded with the ``clap`` backend: CLAP's text tower maps the text into
        the audio embedding space. With the offline ``dsp`` backend this raises
        :class:`~dj_pipeline.index.text.TextSearchUnavailable` naming the backend to use.
        """
        from dj_pipeline.index import search_text

        if not text.strip():
            raise RecommendError("empty search text")
        hits = search_text(self.paths.index_dir, text, k=top_k, device=device)[0]
        table = self.engine.table
        out: list[dict[str, Any]] = []
        for track_id, score in hits:
            if track_id not in table.index:
                continue
            row = table.loc[track_id]
            item = {"track_id": track_id, "score": float(score)}
            for col in ("path", "artist", "title", "bpm", "key", "camelot", "energy"):
                value = row.get(col)
                item[col] = None if value is None or value != value else (float(value) if isinstance(value, float) else value)
            out.append(item)
        return out

    def played_entry(self, ref: str | os.PathLike) -> PlayedTrack:
        """A session entry for ``ref`` with path, tags and length from the catalog."""
        track_id = self.track_id(ref)
        if track_id is None:
            path = Path(str(ref)).expanduser().resolve()
            try:
                duration: float | None = probe(path).duration_s
            except AudioDecodeError:
                duration = None
            return PlayedTrack(None, str(path), duration, None, None)
        row = self.engine.table.loc[track_id]
        length = row.get("duration_s")
        return PlayedTrack(
            track_id,
            row.get("path") if isinstance(row.get("path"), str) else None,
            float(length) if length is not None and length == length else None,
            row.get("title") if isinstance(row.get("title"), str) else None,
            row.get("artist") if isinstance(row.get("artist"), str) else None,
        )


class SessionRecommender:
    """A DJ set: played history and plan persisted under ``sessions/<name>.json``."""

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        session: str | None = None,
        plan: str | SetPlan | Sequence[dict] | None = None,
        config: RecommendConfig | None = None,
        recommender: Recommender | None = None,
        log_feedback: bool = True,
    ) -> None:
        """``log_feedback=False``: an automatic session (the demo) whose picks are not a DJ's
        choices: nothing goes to the feedback log and its played list trains nothing."""
        self.recommender = recommender or Recommender(data_dir, config)
        self.config = self.recommender.config
        self.store = SessionStore(self.recommender.paths.sessions_dir, self.config.session.feedback_file)
        self.name = check_session_name(session or self.config.session.default_name)
        self.state = self.store.load(self.name)
        self.state.log_feedback = log_feedback
        self.last_goal: str | None = None
        if plan is not None:
            self.set_plan(plan)

    @property
    def played(self) -> list[dict[str, Any]]:
        """Played tracks, oldest first (track_id, path, duration_s, title, artist, played_at)."""
        return [vars(p).copy() for p in self.state.played]

    @property
    def plan(self) -> SetPlan | None:
        return SetPlan.from_list(self.state.plan) if self.state.plan else None

    def set_plan(self, plan: str | SetPlan | Sequence[dict] | None) -> SetPlan | None:
        """Set (or clear with ``None``) the set plan; it is saved with the session."""
        parsed = parse_set_plan(plan, self.config) if plan is not None else None
        self.state.plan = parsed.to_list() if parsed else None
        self.store.save(self.state)
        return parsed

    def position_minutes(self) -> float:
        """Minutes of music played so far (``default_track_minutes`` for unknown lengths)."""
        default_s = self.config.default_track_minutes * 60.0
        return sum(p.duration_s if p.duration_s else default_s for p in self.state.played) / 60.0

    def goal_now(self) -> str:
        """The plan's goal at the current position, else the configured default goal."""
        plan = self.plan
        return plan.goal_at(self.position_minutes()) if plan else self.config.default_goal

    def next(self, current: str | os.PathLike | None = None, goal: str | None = None, top_k: int | None = None) -> list[dict[str, Any]]:
        """Recommendations after ``current`` (default: the last played track).

        A ``current`` that is not the last played track is recorded as played (it is playing
        now). The goal is ``goal`` if given, else the plan's goal for the set position.
        """
        if current is not None:
            entry = self.recommender.played_entry(current)
            last = self.state.played[-1] if self.state.played else None
            if last is None or (last.track_id, last.path) != (entry.track_id, entry.path):
                self._append(entry)
        if not self.state.played:
            raise RecommendError("nothing is playing yet: pass current=... or call add_played() first")
        last = self.state.played[-1]
        ref = last.track_id or last.path
        self.last_goal = goal or self.goal_now()
        recs = self.recommender.recommend(ref, goal=self.last_goal, top_k=top_k, history=self.state.played_ids())
        self.state.shown = {"from": last.track_id, "goal": self.last_goal, "ids": [r["track_id"] for r in recs]}
        self.store.save(self.state)
        return recs

    def add_played(self, track: str | os.PathLike) -> dict[str, Any]:
        """Record ``track`` (id or path) as played next; logs the choice against what was shown."""
        entry = self.recommender.played_entry(track)
        self._append(entry)
        return vars(entry).copy()

    def skip(self, track: str | os.PathLike) -> None:
        """The DJ tried ``track`` after the last played one and dropped it: a negative example
        for the ranker (it is not added to the played list)."""
        track_id = self.recommender.track_id(track)
        last = self.state.played[-1] if self.state.played else None
        if self.state.log_feedback and track_id and last is not None:
            self.store.log_event(self.name, "skipped", last.track_id, track_id)

    def played_time(self, played_s: float) -> None:
        """How long the last played track ran (seconds): below ``ranker.min_played_s`` the move
        to it counts as skipped, above it as taken."""
        if len(self.state.played) < 2 or not self.state.log_feedback or not self.state.played[-1].track_id:
            return
        prev, last = self.state.played[-2], self.state.played[-1]
        self.store.log_event(self.name, "played", prev.track_id, str(last.track_id), float(played_s))

    def _append(self, entry: PlayedTrack) -> None:
        shown = self.state.shown
        last = self.state.played[-1] if self.state.played else None
        if self.state.log_feedback and shown and entry.track_id and last is not None and shown.get("from") == last.track_id:
            self.store.log_choice(self.name, last.track_id, shown.get("goal"), shown.get("ids", []), entry.track_id)
        self.state.shown = None
        self.state.played.append(entry)
        self.store.save(self.state)

    def reset(self) -> None:
        """Forget the played tracks (the plan stays; the feedback log is kept for training)."""
        self.state.played = []
        self.state.shown = None
        self.store.save(self.state)

    def export_m3u8(self, out: str | os.PathLike) -> Path:
        """Write the played tracks as an M3U8 playlist named after the session."""
        return write_m3u8(self.played, out, playlist_name=self.name)


def recommend_text(
    current: str,
    goal: str | None = None,
    top_k: int | None = None,
    history: Sequence[str] = (),
    as_json: bool = False,
    data_dir: str | os.PathLike | None = None,
    session: str | None = None,
    plan: str | None = None,
    config: RecommendConfig | None = None,
) -> str:
    """What ``dj recommend`` prints: a table, or JSON with ``as_json``.

    With ``session`` the call goes through :class:`SessionRecommender` (``current`` is recorded
    as playing, ``history`` adds to the session's played list). User errors raise
    :class:`RecommendError` (the CLI prints its message on one line).
    """
    if session:
        sess = SessionRecommender(data_dir, session=session, plan=plan, config=config)
        for h in history:
            sess.add_played(h)
        results = sess.next(current=current, goal=goal, top_k=top_k)
        note = identified_note(sess.recommender, current)
    else:
        if plan:
            raise RecommendError("--plan needs --session (a plan follows the position in a set)")
        rec = Recommender(data_dir, config)
        results = rec.recommend(current, goal=goal, top_k=top_k, history=history)
        note = identified_note(rec, current)
    return results_to_json(results) if as_json else format_table(results, note=note)


def identified_note(rec: Recommender, current: str) -> str | None:
    """"this is <track>" when the current file was recognised as a library track's recording."""
    from dj_pipeline.recommend.output import display_name

    same = rec.identified.get(str(Path(str(current)).expanduser().resolve()))
    if same is None:
        return None
    row = rec.engine.table.loc[same]
    return f"this is {display_name({'track_id': same, **{k: row.get(k) for k in ('artist', 'title', 'path')}})} (same recording as {Path(str(current)).name}; it and its copies are left out)"


def recommend_overrides(energy_boost: bool = False, stay_in_style: bool = False, artist_window: int | None = None, half_double: bool = False) -> dict[str, Any]:
    """``recommend.yaml`` overrides for the ``dj recommend`` flags (only those given)."""
    out: dict[str, Any] = {}
    if energy_boost:
        out["key"] = {"energy_boost": True}
    if half_double:
        out["bpm"] = {"half_double_band_bpm": []}
    rules: dict[str, Any] = {}
    if stay_in_style:
        rules["stay_in_style"] = True
    if artist_window is not None:
        if artist_window < 0:
            raise RecommendError(f"--artist-window must be 0 or more, got {artist_window}")
        rules["artist_window"] = int(artist_window)
    if rules:
        out["rules"] = rules
    return out


def similar_text(track: str, top_k: int = 10, as_json: bool = False, data_dir: str | os.PathLike | None = None) -> str:
    """What ``dj similar`` prints: the nearest tracks by sound, a table or JSON."""
    rec = Recommender(data_dir)
    results = rec.similar(track, top_k)
    return results_to_json(results) if as_json else format_table(results, note=identified_note(rec, track))

