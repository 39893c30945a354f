"""Cue points from labelled sections: where a DJ mixes in, drops, breaks down, mixes out, ends.

* ``mix_in``: the start of the first section with a beat on the grid (a DJ blends over a beat);
  its length runs up to the first ``drop`` (the full groove), in whole phrases.
* ``drop``: the start of the drop that follows a breakdown (the main drop), else the first drop
  after the intro.
* ``breakdown``: the start of the breakdown before that drop, else the first breakdown.
* ``mix_out``: the start of the first ``outro`` section, else ``default_outro_bars`` before the end on the
  hypermeter phase; its length runs to the end of the music.
* ``end``: the end of the last audible bar.

Every cue type is always returned; one that cannot be placed has ``time_s = None`` and a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.structure import CuesConfig
from dj_pipeline.structure.sections import Section

CUE_TYPES: tuple[str, ...] = ("mix_in", "drop", "breakdown", "mix_out", "end")


@dataclass(frozen=True)
class Cue:
    type: str
    time_s: float | None
    bar: int | None  # 0-based bar index from the first downbeat of the grid
    confidence: float
    length_bars: int | None = None  # mix_in / mix_out: the bars a DJ can blend over
    reason: str | None = None


def null_cues(reason: str) -> list[Cue]:
    """Every cue type, unplaced, with the same reason."""
    return [Cue(t, None, None, 0.0, None, reason) for t in CUE_TYPES]


def phrase_length(n_bars: int, phrase_bars: tuple[int, ...], cfg: CuesConfig) -> int:
    """``n_bars`` rounded down to a whole phrase (8/16/32) when at least ``min_mix_bars``, capped."""
    n = min(int(n_bars), cfg.max_mix_bars)
    fitting = [p for p in phrase_bars if p <= n]
    return max(fitting) if n >= cfg.min_mix_bars and fitting else n


def find_cues(
    sections: list[Section],
    downbeats_s: np.ndarray,
    bar_s: float,
    duration_s: float,
    fit_share: float,
    hyper_phase: int,
    hyper_bars: int,
    phrase_bars: tuple[int, ...],
    cfg: CuesConfig,
) -> list[Cue]:
    """The five cues of a track from its sections (see the module docstring)."""
    if not sections:
        return null_cues("no audible bars")

    def at(bar: int) -> float:
        return round(float(downbeats_s[bar]) if bar < downbeats_s.size else float(downbeats_s[-1] + (bar - downbeats_s.size + 1) * bar_s), 3)

    last_bar = sections[-1].start_bar + sections[-1].n_bars
    max_novelty = max((s.novelty for s in sections), default=0.0) or 1.0
    cues = [
        _mix_in(sections, at, fit_share, phrase_bars, cfg),
        *_drop_and_breakdown(sections, at, fit_share, max_novelty),
        _mix_out(sections, at, fit_share, hyper_phase, hyper_bars, phrase_bars, cfg),
        Cue("end", min(at(last_bar), round(duration_s, 3)), last_bar, round(fit_share, 3)),
    ]
    return cues


def _mix_in(sections: list[Section], at, fit_share: float, phrase_bars: tuple[int, ...], cfg: CuesConfig) -> Cue:  # noqa: ANN001
    beat = [i for i, s in enumerate(sections) if s.beat_share >= cfg.min_beat_share]
    if not beat:
        return Cue("mix_in", None, None, 0.0, None, "no section with a steady beat to blend over")
    i = beat[0]
    end = next((s.start_bar for s in sections[i + 1 :] if s.label == "drop"), sections[i].start_bar + sections[i].n_bars)
    s = sections[i]
    return Cue("mix_in", at(s.start_bar), s.start_bar, round(s.beat_share * fit_share, 3), phrase_length(end - s.start_bar, phrase_bars, cfg))


def _drop_and_breakdown(sections: list[Section], at, fit_share: float, max_novelty: float) -> list[Cue]:  # noqa: ANN001
    drops = [i for i, s in enumerate(sections) if s.label == "drop" and i > 0]
    after_break = [i for i in drops if sections[i - 1].label == "breakdown"]
    drop_i = max(after_break, key=lambda i: sections[i].novelty) if after_break else (drops[0] if drops else None)
    breaks = [i for i, s in enumerate(sections) if s.label == "breakdown"]
    before = [i for i in breaks if drop_i is not None and i < drop_i]
    break_i = before[-1] if before else (breaks[0] if breaks else None)
    out = []
    for kind, i in (("drop", drop_i), ("breakdown", break_i)):
        if i is None:
            out.append(Cue(kind, None, None, 0.0, None, f"no {kind} section found"))
        else:
            s = sections[i]
            out.append(Cue(kind, at(s.start_bar), s.start_bar, round(min(1.0, s.novelty / max_novelty) * fit_share, 3)))
    return out


def _mix_out(
    sections: list[Section], at, fit_share: float, hyper_phase: int, hyper_bars: int, phrase_bars: tuple[int, ...], cfg: CuesConfig  # noqa: ANN001
) -> Cue:
    end = sections[-1].start_bar + sections[-1].n_bars
    outro = [s for s in sections[1:] if s.label == "outro"]
    if outro:
        s = outro[0]
        beat = float(np.mean([o.beat_share for o in outro]))
        return Cue("mix_out", at(s.start_bar), s.start_bar, round(beat * fit_share, 3), phrase_length(end - s.start_bar, phrase_bars, cfg))
    start = max(sections[0].start_bar, end - cfg.default_outro_bars)
    if hyper_bars > 1:
        start += (hyper_phase - start) % hyper_bars  # onto the phrase grid, never before the music
    start = min(start, end - 1)
    return Cue("mix_out", at(start), start, round(0.5 * fit_share, 3), phrase_length(end - start, phrase_bars, cfg), "no outro section: phrase before the end")
