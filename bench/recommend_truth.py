"""Ground truth of a demo library, lined up with an ingested data directory, and truth judgments.

Used by ``bench/recommend_quality.py``. The demo generator writes ``<lib>/truth.csv`` (path
relative to the library, style, bpm, camelot, energy_level, ...); the pipeline knows tracks by
content id and absolute path. :func:`load_truth` joins the two through the engine's path column,
and :class:`TruthJudge` answers, for a current track and a list of picks, which picks are
BPM-compatible, key-compatible, of the same style and in the goal's energy direction *by the
truth labels* -- the analysed features the recommender sees are never used to judge it.

Compatibility rules (the same tolerances the recommender is configured with):
- BPM: within max(tolerance_bpm, tolerance_pct % of the current BPM), half/double time allowed
  (``dj_pipeline.recommend.filters.bpm_compatible`` on the truth BPMs);
- key: Camelot distance <= ``max_distance`` (``dj_pipeline.music.keys.camelot_distance``);
- energy goal: up/peak need a higher, down a lower energy; maintain needs |delta| <= a tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import BpmConfig
from dj_pipeline.music.keys import camelot_distance
from dj_pipeline.recommend.filters import bpm_compatible, bpm_match

RISING_GOALS = ("up", "peak")
FALLING_GOALS = ("down",)


def load_truth(lib_dir: str | Path, engine_table: pd.DataFrame) -> pd.DataFrame:
    """``truth.csv`` rows indexed by library track id, in the engine table's order.

    ``engine_table``: the recommender's prepared table (indexed by track_id, with ``path``).
    Tracks of the data dir without a truth row (or truth rows that were never ingested) are
    dropped; raises ``ValueError`` when nothing lines up (wrong library for this data dir).
    """
    lib = Path(lib_dir).expanduser().resolve()
    truth_csv = lib / "truth.csv"
    if not truth_csv.is_file():
        raise ValueError(f"no truth.csv in {lib}: pass the folder `dj demo-library` wrote")
    truth = pd.read_csv(truth_csv)
    truth["abs_path"] = [str((lib / p).resolve()) for p in truth["path"]]
    paths = engine_table["path"].astype(str)
    by_path = pd.DataFrame({"track_id": paths.index.astype(str), "abs_path": paths.to_numpy()})
    joined = by_path.merge(truth, on="abs_path", how="inner").set_index("track_id")
    if joined.empty:
        raise ValueError(f"no track of the data dir is listed in {truth_csv}: library and data dir do not match")
    return joined


def goal_met(goal: str, delta: np.ndarray, maintain_tolerance: float) -> np.ndarray:
    """Whether an energy change ``delta`` follows ``goal`` (up/peak: > 0, down: < 0,
    maintain: |delta| <= ``maintain_tolerance``)."""
    d = np.asarray(delta, dtype=np.float64)
    if goal in RISING_GOALS:
        return d > 0
    if goal in FALLING_GOALS:
        return d < 0
    if goal == "maintain":
        return np.abs(d) <= maintain_tolerance
    raise ValueError(f"unknown goal {goal!r}")


@dataclass
class Judgment:
    """Per-pick truth verdicts for one query (arrays aligned with the picks)."""

    bpm_ok: np.ndarray
    key_ok: np.ndarray
    same_style: np.ndarray
    energy_delta: np.ndarray  # truth energy_level of pick minus current
    bpm_step: np.ndarray  # |truth BPM difference| after half/double alignment
    bpm_step_raw: np.ndarray  # |truth BPM difference| as played


class TruthJudge:
    """Truth compatibility between library tracks, precomputed as (n, n) matrices."""

    def __init__(self, truth: pd.DataFrame, bpm_config: BpmConfig, key_max_distance: int = 1) -> None:
        self.ids = [str(t) for t in truth.index]
        self.row = {t: i for i, t in enumerate(self.ids)}
        self.bpm = truth["bpm"].to_numpy(dtype=np.float64)
        self.energy = truth["energy_level"].to_numpy(dtype=np.float64)
        self.style = truth["style"].astype(str).to_numpy()
        self.camelot = truth["camelot"].astype(str).to_numpy()
        self.bpm_ok = np.stack([bpm_compatible(b, self.bpm, bpm_config) for b in self.bpm])
        codes = sorted(set(self.camelot))
        code_row = {c: i for i, c in enumerate(codes)}
        dist = np.array([[camelot_distance(a, b) for b in codes] for a in codes])
        ci = np.array([code_row[c] for c in self.camelot])
        self.key_ok = dist[ci[:, None], ci[None, :]] <= key_max_distance
        self.half_double = bpm_config.half_double
        n = len(self.ids)
        self.others = ~np.eye(n, dtype=bool)

    def rows(self, track_ids: Sequence[str]) -> np.ndarray:
        """Matrix rows of ``track_ids`` (KeyError for a track without truth)."""
        return np.array([self.row[str(t)] for t in track_ids], dtype=np.int64)

    def judge(self, current_id: str, pick_ids: Sequence[str]) -> Judgment:
        """Truth verdicts for the picks after ``current_id``."""
        c = self.row[str(current_id)]
        p = self.rows(pick_ids)
        aligned, _ = bpm_match(self.bpm[c], self.bpm[p], self.half_double)
        return Judgment(
            bpm_ok=self.bpm_ok[c, p],
            key_ok=self.key_ok[c, p],
            same_style=self.style[p] == self.style[c],
            energy_delta=self.energy[p] - self.energy[c],
            bpm_step=aligned,
            bpm_step_raw=np.abs(self.bpm[p] - self.bpm[c]),
        )

    def _pools(self, current_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks of the other tracks that are truth BPM-, key- and both-compatible with ``current_id``."""
        c = self.row[str(current_id)]
        bpm, key = self.bpm_ok[c] & self.others[c], self.key_ok[c] & self.others[c]
        return bpm, key, bpm & key

    def available(self, current_id: str) -> dict[str, int]:
        """How many other library tracks are truth-compatible with ``current_id`` (BPM, key, both,
        and both within the current track's style)."""
        bpm, key, both = self._pools(current_id)
        same = self.style_mask(current_id)
        return {"bpm": int(bpm.sum()), "key": int(key.sum()), "both": int(both.sum()), "both_same_style": int((both & same).sum())}

    def oracle_share(self, current_id: str, wanted: np.ndarray, k: int) -> tuple[float, float]:
        """The best top-``k`` share of ``wanted`` tracks (a boolean per truth row) that a list
        obeying the strict filters can reach, and the best top-1 (0 or 1).

        The list holds truth BPM- and key-compatible tracks; only when fewer than ``k`` exist is
        it filled with BPM-compatible tracks of another key (as the recommender's key relaxation
        does). The upper bound for any recommender that keeps the key and BPM targets.
        """
        bpm, _, both = self._pools(current_id)
        wanted = np.asarray(wanted, dtype=bool)
        n_both, n_list = int(both.sum()), min(k, int(bpm.sum()))
        if n_list == 0:
            return float("nan"), float("nan")
        hits = min(n_list, int((both & wanted).sum())) if n_both >= k else int((both & wanted).sum()) + min(n_list - n_both, int((bpm & ~both & wanted).sum()))
        top1 = bool((both & wanted).any()) if n_both else bool((bpm & wanted).any())
        return hits / n_list, float(top1)

    def goal_mask(self, current_id: str, goal: str, maintain_tolerance: float) -> np.ndarray:
        """Truth rows whose energy change from ``current_id`` follows ``goal``."""
        c = self.row[str(current_id)]
        return goal_met(goal, self.energy - self.energy[c], maintain_tolerance)

    def style_mask(self, current_id: str) -> np.ndarray:
        """Truth rows of the same style as ``current_id``."""
        return self.style == self.style[self.row[str(current_id)]]

    def goal_available(self, current_id: str, goal: str, maintain_tolerance: float) -> int:
        """Other tracks that are BPM- and key-compatible AND in the goal's energy direction."""
        return int((self._pools(current_id)[2] & self.goal_mask(current_id, goal, maintain_tolerance)).sum())


def parse_schedule(text: str) -> list[str]:
    """``"up:5,peak:5,maintain:4,down:5"`` -> the goal of each transition, in order."""
    goals: list[str] = []
    for part in text.split(","):
        name, _, count = part.strip().partition(":")
        if not name or not count.isdigit() or int(count) < 1:
            raise ValueError(f"bad schedule part {part!r}: write goal:count, e.g. up:5")
        goals.extend([name] * int(count))
    return goals
