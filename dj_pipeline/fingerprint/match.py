"""Recognising a recording: query landmarks against the library's, by a common time offset.

:class:`FingerprintIndex` holds every library landmark sorted by hash. A query's landmarks look
up their hash; each hit votes for (track, library time - query time). A real match piles its
votes on one offset (an excerpt from minute 2 votes for "+2 minutes"); chance hits spread over
all offsets. A track matches when its best offset (give or take ``offset_tolerance_frames``)
holds at least ``min_aligned`` votes and ``min_aligned_share`` of the query's landmarks.

A hash that the library holds more than ``max_hits_per_hash`` times casts no vote (audfprint's
bucket limit, Shazam's stop hashes): it says nothing about which recording this is, and a
steady tone or a looped hit repeats one hash thousands of times, which would make the vote
table quadratic in the track's length (a test tone once took the ingest to 24 GB).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.fingerprint import FingerprintConfig


@dataclass(frozen=True)
class Match:
    track_id: str
    aligned: int  # landmarks lined up at the best offset
    share: float  # aligned / the query's landmarks
    offset_s: float  # where the query starts in the library track


class FingerprintIndex:
    """Every library track's landmarks, searchable by hash."""

    def __init__(self, track_ids: Sequence[str], hashes: Sequence[np.ndarray], times: Sequence[np.ndarray], config: FingerprintConfig) -> None:
        self.config = config
        self.track_ids = [str(t) for t in track_ids]
        self._position = {t: i for i, t in enumerate(self.track_ids)}
        owner = np.concatenate([np.full(len(h), i, dtype=np.int32) for i, h in enumerate(hashes)]) if len(hashes) else np.zeros(0, np.int32)
        all_h = np.concatenate([np.asarray(h, dtype=np.int32) for h in hashes]) if len(hashes) else np.zeros(0, np.int32)
        all_t = np.concatenate([np.asarray(t, dtype=np.int32) for t in times]) if len(times) else np.zeros(0, np.int32)
        order = np.argsort(all_h, kind="stable")
        self._hash, self._owner, self._time = all_h[order], owner[order], all_t[order]

    def __len__(self) -> int:
        return len(self.track_ids)

    def match(self, hashes: np.ndarray, times: np.ndarray, exclude: Iterable[str] = ()) -> list[Match]:
        """Library tracks the query matches, best first (empty when none does)."""
        q_hash = np.asarray(hashes, dtype=np.int32)
        q_time = np.asarray(times, dtype=np.int64)
        if not len(q_hash) or not len(self._hash):
            return []
        lo = np.searchsorted(self._hash, q_hash, side="left")
        hi = np.searchsorted(self._hash, q_hash, side="right")
        counts = hi - lo
        counts[counts > self.config.max_hits_per_hash] = 0  # uninformative hashes do not vote
        if not counts.sum():
            return []
        q_idx = np.repeat(np.arange(len(q_hash)), counts)
        pos = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        owner = self._owner[pos].astype(np.int64)
        excluded = set(exclude)
        if excluded:  # an excluded track (the query itself, in its own batch) never reaches the offset sort
            drop = np.isin(owner, [self._position[t] for t in excluded if t in self._position])
            owner, pos, q_idx = owner[~drop], pos[~drop], q_idx[~drop]
        # a track's votes at its best offset are at most all its votes: tracks with too few votes
        # in all cannot match, so their votes are not sorted by offset (most of the work)
        total = np.bincount(owner, minlength=len(self.track_ids))
        can_match = (total >= self.config.min_aligned) & (total / max(len(q_hash), 1) >= self.config.min_aligned_share)
        keep = can_match[owner]
        if not keep.any():
            return []
        owner, pos, q_idx = owner[keep], pos[keep], q_idx[keep]
        offset = self._time[pos].astype(np.int64) - q_time[q_idx]
        return self._best_offsets(owner, offset, len(q_hash), excluded)

    def _best_offsets(self, owner: np.ndarray, offset: np.ndarray, n_query: int, exclude: set[str]) -> list[Match]:
        cfg = self.config
        shift = offset - offset.min()
        span = int(shift.max()) + 1 + 2 * cfg.offset_tolerance_frames
        keys, votes = np.unique(owner * span + shift, return_counts=True)
        near = votes.copy()
        for d in range(1, cfg.offset_tolerance_frames + 1):  # votes one frame either side count too
            for k in (keys - d, keys + d):
                j = np.searchsorted(keys, k)
                found = (j < len(keys)) & (keys[np.minimum(j, len(keys) - 1)] == k)
                near[found] += votes[j[found]]
        track, best = keys // span, near
        out: dict[int, Match] = {}
        for i in np.argsort(-best, kind="stable"):
            t = int(track[i])
            if t in out:
                continue
            share = float(best[i]) / max(n_query, 1)
            if best[i] < cfg.min_aligned or share < cfg.min_aligned_share:
                break
            tid = self.track_ids[t]
            if tid not in exclude:
                off = int(keys[i] % span) + int(offset.min())
                out[t] = Match(tid, int(best[i]), share, off * cfg.frame_s)
        return sorted(out.values(), key=lambda m: -m.aligned)


def find_duplicates(
    new_ids: Sequence[str],
    new_hashes: Sequence[np.ndarray],
    new_times: Sequence[np.ndarray],
    durations_s: Sequence[float],
    existing: FingerprintIndex,
) -> dict[str, str]:
    """``{track_id: duplicate_of}`` for new tracks that are the same recording as an existing
    track (the existing one stays the original) or as another new track that comes first --
    longer first, so an excerpt points at the full track; equal lengths by id. Chains resolve to
    the original."""
    ids = [str(t) for t in new_ids]
    rank = {t: r for r, t in enumerate(sorted(ids, key=lambda t: (-float(durations_s[ids.index(t)] or 0.0), t)))}
    batch = FingerprintIndex(ids, new_hashes, new_times, existing.config)
    out: dict[str, str] = {}
    for i in sorted(range(len(ids)), key=lambda i: rank[ids[i]]):
        hits = existing.match(new_hashes[i], new_times[i])
        if not hits:
            hits = [m for m in batch.match(new_hashes[i], new_times[i], exclude=[ids[i]]) if rank[m.track_id] < rank[ids[i]]]
        if hits:
            original = hits[0].track_id
            out[ids[i]] = out.get(original, original)
    return out
