"""The order a DJ expects: picks that keep every rule first, then each relaxation in turn.

A candidate is checked against the hard filters (BPM with the goal's tempo direction, key), the
goal's energy direction, the tempo preference of the goal (``down``: not faster), and the DJ
rules (no recent artist; the current style when ``stay_in_style``). :func:`levels` lists, best
first, the masks that fill the result list one after another: a pick from a later level never
outranks one from an earlier level, whatever its score. :func:`broken` names what a pick breaks,
for the ``relaxed`` field and the match score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Checks:
    """Per-candidate booleans (one array each, aligned with the scored candidates)."""

    key: np.ndarray
    bpm: np.ndarray  # strict BPM filter, the goal's tempo direction included
    energy: np.ndarray  # the goal's energy direction
    energy_near: np.ndarray  # missing the goal, but within maintain_levels of the current level
    tempo_preferred: np.ndarray  # the goal's preferred tempo move (down: not faster)
    artist: np.ndarray  # no artist of the last ``artist_window`` tracks
    style: np.ndarray  # same style where stay_in_style is on (else all True)
    same_style: np.ndarray | None = None  # same style, enforced or not (for the reasons)


@dataclass
class RelaxedBpm:
    """The BPM mask of one relaxation step (its ``drop_key`` applies to the key filter)."""

    drop_key: bool
    bpm: np.ndarray
    same_bpm: bool = False  # the step keeps the strict BPM tolerance (it only drops the key)


def levels(checks: Checks, relaxations: Sequence[RelaxedBpm]) -> list[np.ndarray]:
    """Masks, best first (see module docstring).

    The goal's energy direction weighs more than the key: after the strict picks in the goal's
    direction come the picks in that direction whose key clashes (the first relaxation step, when
    it keeps the BPM tolerance), and only then the strict picks that miss the goal -- those that
    hold the level first. Later relaxation steps (wider BPM, no BPM) follow in turn, the goal's
    direction first inside each, and last anything left, the DJ rules (artist, style) dropped too.
    """
    rules = checks.artist & checks.style
    strict = checks.key & checks.bpm & rules
    masks = [(checks.key | step.drop_key) & step.bpm & rules for step in relaxations]
    same_tempo = [m for m, step in zip(masks, relaxations) if step.same_bpm][:1]
    near = checks.energy_near & ~checks.energy
    out = [strict & checks.energy & checks.tempo_preferred, strict & checks.energy]
    out += [m & checks.energy for m in same_tempo]
    out += [strict & near, *[m & near for m in same_tempo], strict, *same_tempo]
    for mask, step in zip(masks, relaxations):
        if not step.same_bpm:
            out += [mask & checks.energy, mask & near, mask]
    out.append(np.ones_like(strict))
    return out


def broken(checks: Checks, i: int, enforce_style: bool) -> list[str]:
    """Names of what candidate ``i`` breaks: "key", "bpm", "energy" (the goal), "artist", "style"."""
    named = {"key": checks.key, "bpm": checks.bpm, "energy": checks.energy, "artist": checks.artist}
    if enforce_style:
        named["style"] = checks.style
    return [name for name, ok in named.items() if not bool(ok[i])]


def tiered_order(scores: np.ndarray, masks: Sequence[np.ndarray], top_k: int) -> list[tuple[int, int]]:
    """``(candidate index, level)`` of the best ``top_k`` candidates: each level fills the places
    still open, best score first (stable), so the list reads in level order."""
    chosen: list[tuple[int, int]] = []
    taken = np.zeros(len(scores), dtype=bool)
    for level, mask in enumerate(masks):
        if len(chosen) >= top_k:
            break
        pool = np.flatnonzero(np.asarray(mask, dtype=bool) & ~taken)
        best = pool[np.argsort(-scores[pool], kind="stable")][: top_k - len(chosen)]
        chosen.extend((int(i), level) for i in best)
        taken[best] = True
    return chosen
