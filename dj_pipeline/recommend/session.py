"""DJ session state persisted in the data dir, so a set survives a restart.

``sessions/<name>.json`` holds the played tracks (oldest first), the set plan, and the
candidates last shown; writes are atomic (temp file + rename). ``sessions/feedback.jsonl``
gets one line per choice: the track that was playing, the candidates shown, and the one the DJ
played next -- the training data of the TransitionRanker.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dj_pipeline.recommend.errors import RecommendError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class PlayedTrack:
    """One played track: library id (None for a file outside the library), path, length."""

    track_id: str | None
    path: str | None = None
    duration_s: float | None = None
    title: str | None = None
    artist: str | None = None
    played_at: str = field(default_factory=now_iso)


@dataclass
class SessionState:
    name: str
    created_at: str = field(default_factory=now_iso)
    played: list[PlayedTrack] = field(default_factory=list)
    plan: list[dict] | None = None
    shown: dict[str, Any] | None = None  # {"from": id, "goal": g, "ids": [...], "at": iso}
    log_feedback: bool = True  # False: an automatic session (the demo): its picks train nothing

    def played_ids(self) -> list[str]:
        return [p.track_id for p in self.played if p.track_id]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SessionState":
        played = [PlayedTrack(**p) for p in data.get("played", [])]
        return cls(data["name"], data.get("created_at", now_iso()), played, data.get("plan"), data.get("shown"), bool(data.get("log_feedback", True)))


def check_session_name(name: str) -> str:
    """Session names become file names: letters, digits, ``_ . -``, at most 64 characters."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise RecommendError(f"invalid session name {name!r}: use letters, digits, '_', '.', '-' (max 64)")
    return name


class SessionStore:
    """Reads and writes session files and the feedback log under ``sessions_dir``."""

    def __init__(self, sessions_dir: str | os.PathLike, feedback_file: str = "feedback.jsonl") -> None:
        self.dir = Path(sessions_dir)
        self.feedback_path = self.dir / feedback_file

    def path(self, name: str) -> Path:
        return self.dir / f"{check_session_name(name)}.json"

    def load(self, name: str) -> SessionState:
        """The saved session ``name``, or a new empty one."""
        p = self.path(name)
        if not p.exists():
            return SessionState(name)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict):  # e.g. "[]" written by hand or another tool
                raise ValueError(f"expected a JSON object, found {type(data).__name__}")
            return SessionState.from_dict(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RecommendError(f"session file {p} is unreadable ({exc}); delete it to start over") from None

    def save(self, state: SessionState) -> Path:
        p = self.path(state.name)
        _write_atomic(p, json.dumps(state.to_dict(), indent=1))
        return p

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json") if _NAME.match(p.stem))

    def log_choice(self, session: str, from_id: str | None, goal: str | None, shown: list[str], chosen: str) -> None:
        """Append one feedback line (the DJ played ``chosen`` after ``from_id``, having seen ``shown``)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        line = {"session": session, "at": now_iso(), "from": from_id, "goal": goal, "shown": list(shown), "chosen": chosen}
        with self.feedback_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    def log_event(self, session: str, kind: str, from_id: str | None, track_id: str, played_s: float | None = None) -> None:
        """Append a ``skipped`` (the DJ tried ``track_id`` after ``from_id`` and dropped it) or
        ``played`` (how long it played, ``played_s``) line to the feedback log."""
        self.dir.mkdir(parents=True, exist_ok=True)
        line = {"session": session, "at": now_iso(), "event": kind, "from": from_id, "track": track_id, "played_s": played_s}
        with self.feedback_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    def read_events(self) -> list[dict[str, Any]]:
        """The ``skipped`` / ``played`` lines of the feedback log."""
        return [rec for rec in self._lines() if rec.get("event") in ("skipped", "played") and rec.get("track")]

    def signature(self) -> dict[str, int]:
        """What the ranker was trained on, to tell when feedback has grown: the feedback log's
        size and the number of tracks played in sessions that log feedback."""
        size = self.feedback_path.stat().st_size if self.feedback_path.exists() else 0
        return {"feedback_bytes": int(size), "played": sum(len(seq) for seq in self.played_sequences())}

    def _lines(self) -> list[dict[str, Any]]:
        if not self.feedback_path.exists():
            return []
        out = []
        for line in self.feedback_path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def read_feedback(self) -> list[dict[str, Any]]:
        """Every choice line; a torn last line (a crash mid-write) is skipped."""
        return [rec for rec in self._lines() if rec.get("chosen")]

    def played_sequences(self) -> list[list[str]]:
        """Played library track ids of every saved session that logs feedback, in order (an
        automatic session such as the demo's is left out: its picks are not a DJ's)."""
        sequences = []
        for n in self.names():
            try:
                state = self.load(n)
            except RecommendError:  # one broken session file must not stop training on the others
                continue
            if state.log_feedback:
                sequences.append(state.played_ids())
        return sequences


def _write_atomic(path: Path, text: str) -> None:
    """Write via a per-process temp file and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def training_pairs(
    sequences: list[list[str]], feedback: list[dict[str, Any]], events: list[dict[str, Any]] = (), min_played_s: float = 0.0
) -> list[tuple[str, str, int]]:
    """(from, to, label) pairs: consecutive played tracks are positives; candidates that were
    shown but not picked are negatives (unless the same pair was ever taken); a track the DJ
    skipped, or played for less than ``min_played_s``, is a negative after the track before it
    (the latest word on a pair wins over its positive)."""
    positives: dict[tuple[str, str], None] = {}
    for seq in sequences:
        for a, b in zip(seq, seq[1:]):
            if a != b:
                positives[(a, b)] = None
    for rec in feedback:
        if rec.get("from"):
            positives[(rec["from"], rec["chosen"])] = None
    dropped: dict[tuple[str, str], None] = {}
    for rec in events:
        pair = (rec.get("from"), rec["track"])
        if not pair[0]:
            continue
        short = rec["event"] == "played" and rec.get("played_s") is not None and float(rec["played_s"]) < min_played_s
        if rec["event"] == "skipped" or short:
            dropped[pair] = None
            positives.pop(pair, None)
        elif rec["event"] == "played":
            positives[pair] = None
            dropped.pop(pair, None)
    negatives: dict[tuple[str, str], None] = dict(dropped)
    for rec in feedback:
        if not rec.get("from"):
            continue
        for cand in rec.get("shown", []):
            pair = (rec["from"], cand)
            if cand != rec["chosen"] and pair not in positives:
                negatives[pair] = None
    return [(a, b, 1) for a, b in positives] + [(a, b, 0) for a, b in negatives]
