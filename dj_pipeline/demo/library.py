"""The demo library: plan every track (style, tempo, key, energy, format), render, write, record truth."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dj_pipeline.config.demo import DemoConfig
from dj_pipeline.demo.oneshots import generate_oneshots
from dj_pipeline.demo.arrangement import Section
from dj_pipeline.demo.track import BEATS_PER_BAR, TrackSpec, default_config, render_track
from dj_pipeline.demo.writer import write_audio
from dj_pipeline.music.keys import camelot_code, key_name
from dj_pipeline.stages.common import resolve_workers, spawn_map

TRUTH_COLUMNS = (
    "path", "track_index", "style", "bpm", "key", "key_root", "key_mode", "camelot", "energy_level",
    "duration_s", "sample_rate", "channels", "format", "artist", "title", "genre", "album", "seed",
    "progression", "sections", "first_beat_s", "bar_s", "section_start_bars", "section_start_s", "drop_bar", "drop_s",
)  # fmt: skip


@dataclass(frozen=True)
class TrackPlan:
    """Everything that defines one demo track before it is rendered."""

    track_index: int
    style: str
    bpm: float
    key_root: int
    key_mode: str
    energy_level: float
    duration_s: float
    sample_rate: int
    channels: int
    format: str
    artist: str
    title: str
    genre: str
    seed: int

    def spec(self) -> TrackSpec:
        """The audio-defining part of the plan."""
        return TrackSpec(
            self.style, self.bpm, self.key_root, self.key_mode, self.duration_s, self.sample_rate, self.seed,
            self.channels == 2, self.energy_level,
        )  # fmt: skip

    @property
    def path(self) -> str:
        name = f"{self.track_index:03d}_{_slug(self.artist)}_-_{_slug(self.title)}.{self.format}"
        return f"tracks/{self.style}/{name}"


def plan_library(n_tracks: int, seed: int = 0, duration_scale: float = 1.0, config: DemoConfig | None = None) -> list[TrackPlan]:
    """Deterministic plans for ``n_tracks`` tracks: styles cycle, keys spread over the 12 roots.

    Each block of 12 tracks uses a permutation of the 12 roots, so a 24-track library covers
    every root twice; formats/sample rates/channels follow the configured cycle.
    """
    if n_tracks < 0:
        raise ValueError(f"n_tracks must be >= 0, got {n_tracks}")
    if not np.isfinite(duration_scale) or duration_scale <= 0:
        raise ValueError(f"duration_scale must be > 0, got {duration_scale}")
    cfg = config or default_config()
    lib = cfg.library
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0]))
    roots = np.concatenate([rng.permutation(12) for _ in range(n_tracks // 12 + 1)])
    plans = []
    for i in range(n_tracks):
        ss = np.random.SeedSequence([int(seed), 1, i])
        r = np.random.default_rng(ss)
        style = lib.style_order[i % len(lib.style_order)]
        sty = cfg.styles[style]
        modes = sty.modes()
        mode = modes[0] if len(modes) == 1 else ("minor" if r.random() < sty.minor_share else "major")
        fmt, sr, channels = lib.formats[i % len(lib.formats)]
        duration = max(lib.min_duration_s, r.uniform(*lib.duration_s) * duration_scale)
        n = int(round(duration * sr))
        plans.append(
            TrackPlan(
                track_index=i,
                style=style,
                bpm=float(r.integers(int(sty.bpm[0]), int(sty.bpm[1]) + 1)),
                key_root=int(roots[i]),
                key_mode=mode,
                energy_level=round(float(r.uniform(*sty.energy)), 3),
                duration_s=n / sr,
                sample_rate=int(sr),
                channels=int(channels),
                format=str(fmt),
                artist=_artist(r, cfg),
                title=_title(r, cfg),
                genre=sty.genre,
                seed=int(ss.generate_state(1)[0]),
            )
        )
    return plans


def generate_library(
    out_dir: str | os.PathLike,
    n_tracks: int = 24,
    n_samples: int = 16,
    seed: int = 0,
    duration_scale: float = 1.0,
    workers: int = 1,
) -> pd.DataFrame:
    """Write ``out_dir/tracks/...``, ``out_dir/samples/...``, ``truth.csv`` and ``samples_truth.csv``.

    Returns the tracks' truth frame (paths relative to ``out_dir``). Byte-identical on rerun with
    the same arguments, for any number of ``workers`` (each track is seeded on its own; ``<= 0``:
    one process per CPU core), since a large benchmark library takes about a second per track.
    """
    cfg = default_config()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_library(n_tracks, seed, duration_scale, cfg)
    n_workers = min(resolve_workers(workers), max(1, len(plans)))
    if n_workers > 1:
        rows = spawn_map(write_track, [[out] * len(plans), plans, [cfg] * len(plans)], n_workers, chunksize=4)
    else:
        rows = [write_track(out, plan, cfg) for plan in plans]
    truth = pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))
    truth.to_csv(out / "truth.csv", index=False)
    samples = generate_oneshots(out / "samples", n_samples, seed)
    samples = samples.assign(path=[f"samples/{p}" for p in samples["path"]])
    samples.to_csv(out / "samples_truth.csv", index=False)
    return truth


def write_track(out_dir: Path, plan: TrackPlan, cfg: DemoConfig) -> dict:
    """Render and write one planned track; returns its truth row."""
    rendered = render_track(plan.spec(), cfg)
    tags = {"title": plan.title, "artist": plan.artist, "album": cfg.library.album, "genre": plan.genre}
    write_audio(out_dir / plan.path, rendered.audio, plan.sample_rate, plan.format, tags, mp3_compression_level=cfg.library.mp3_compression_level)
    row = asdict(plan)
    row.update(
        path=plan.path,
        key=key_name(plan.key_root, plan.key_mode),
        camelot=camelot_code(plan.key_root, plan.key_mode),
        album=cfg.library.album,
        progression=rendered.progression,
        sections=" ".join(f"{s.name}:{s.n_bars}" for s in rendered.sections),
        **section_truth(rendered.sections, plan.bpm),
    )
    return row


def section_truth(sections: tuple[Section, ...], bpm: float) -> dict:
    """Where the arrangement's sections start (bars from 0 and seconds), the drop, the first beat.

    The grid starts at 0 s: bar ``b`` starts at ``b * bar_s`` (drum hits are humanised by a few ms,
    the grid itself is exact). ``drop_bar``/``drop_s`` are empty when the form has no drop.
    """
    bar_s = BEATS_PER_BAR * 60.0 / bpm
    drop = next((s for s in sections if s.name == "drop"), None)
    return {
        "first_beat_s": 0.0,
        "bar_s": round(bar_s, 6),
        "section_start_bars": " ".join(str(s.start_bar) for s in sections),
        "section_start_s": " ".join(f"{s.start_bar * bar_s:.3f}" for s in sections),
        "drop_bar": drop.start_bar if drop else None,
        "drop_s": round(drop.start_bar * bar_s, 3) if drop else None,
    }


def _artist(rng: np.random.Generator, cfg: DemoConfig) -> str:
    words = cfg.library.artist_words
    if rng.random() < 0.5:
        return f"{words[rng.integers(len(words))]} {cfg.library.artist_suffixes[rng.integers(len(cfg.library.artist_suffixes))]}"
    a, b = rng.choice(len(words), 2, replace=False)
    return f"{words[a]} & {words[b]}"


def _title(rng: np.random.Generator, cfg: DemoConfig) -> str:
    words = cfg.library.title_words
    a, b = rng.choice(len(words), 2, replace=False)
    return f"{words[a]} {words[b]}"


def _slug(text: str) -> str:
    """File-name-safe ASCII: spaces become underscores, '&' becomes 'and', other symbols drop."""
    text = text.replace("&", "and").replace(" ", "_")
    return re.sub(r"[^A-Za-z0-9_]+", "", text)
