"""Arrangement: split a track's bars into sections and give every layer a gain per bar.

Sections (intro, groove, breakdown, drop, outro) come from ``demo.yaml`` with a weight each; bar
counts are whole phrases (``phrase_bars``) when the track is long enough, else whole bars. A layer
gain is a constant or a ``[start, end]`` ramp across its section (drums thinning in the outro).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.demo import ArrangementConfig

LAYERS: tuple[str, ...] = ("kick", "snare", "hat", "hat_open", "perc", "bass", "chords", "lead", "fx")


@dataclass(frozen=True)
class Section:
    name: str
    start_bar: int
    n_bars: int


def section_bars(n_bars: int, cfg: ArrangementConfig, rng: np.random.Generator | None = None) -> list[Section]:
    """Divide ``n_bars`` among the configured sections (largest-remainder rounding).

    With ``rng`` the weights are jittered by up to +-25% so tracks of one style differ in form.
    Sections that get no bars are left out; the drop section absorbs any leftover bars.
    """
    if n_bars < 1:
        raise ValueError(f"a track needs at least one bar, got {n_bars}")
    weights = np.array([s.weight for s in cfg.sections], dtype=np.float64)
    if rng is not None:
        weights = weights * rng.uniform(0.75, 1.25, len(weights))
    unit = cfg.phrase_bars if n_bars >= cfg.phrase_bars * len(cfg.sections) else 1
    units_total = n_bars // unit
    ideal = weights / weights.sum() * units_total
    units = np.floor(ideal).astype(int)
    leftover = units_total - int(units.sum())
    for idx in np.argsort(-(ideal - units), kind="stable")[:leftover]:
        units[idx] += 1
    bars = units * unit
    drop = _index_of(cfg, "drop")
    bars[drop] += n_bars - int(bars.sum())
    out, start = [], 0
    for sec, nb in zip(cfg.sections, bars):
        if nb > 0:
            out.append(Section(sec.name, start, int(nb)))
            start += int(nb)
    return out


def layer_gains(sections: list[Section], cfg: ArrangementConfig) -> dict[str, np.ndarray]:
    """Gain of every layer in every bar (0 where the layer is silent)."""
    n_bars = sum(s.n_bars for s in sections)
    gains = {layer: np.zeros(n_bars, dtype=np.float64) for layer in LAYERS}
    spec = {s.name: s.layers for s in cfg.sections}
    for sec in sections:
        for layer, value in spec[sec.name].items():
            if layer not in gains:
                raise ValueError(f"section {sec.name!r} names unknown layer {layer!r}; known: {', '.join(LAYERS)}")
            lo, hi = (value, value) if np.isscalar(value) else (value[0], value[1])
            gains[layer][sec.start_bar : sec.start_bar + sec.n_bars] = np.linspace(float(lo), float(hi), sec.n_bars)
    return gains


def _index_of(cfg: ArrangementConfig, name: str) -> int:
    names = [s.name for s in cfg.sections]
    return names.index(name) if name in names else int(np.argmax([s.weight for s in cfg.sections]))
