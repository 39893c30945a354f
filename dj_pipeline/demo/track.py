"""Render one synthetic track (drums, bass, chords, lead, fx) with exact tempo and key truth."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dj_pipeline.config.demo import DemoConfig, StyleConfig, load_demo_config
from dj_pipeline.demo import instruments as ins
from dj_pipeline.demo.arrangement import LAYERS, Section, layer_gains, section_bars
from dj_pipeline.demo.harmony import chord_per_bar, parse_progression, voice_chord
from dj_pipeline.demo.mixer import master, mixdown, place, sidechain_envelope
from dj_pipeline.demo.patterns import STEPS_PER_BAR, Events, bass_events, chord_events, drum_events, lead_events
from dj_pipeline.demo.synth import midi_to_hz

BEATS_PER_BAR = 4
BPM_RANGE = (20.0, 300.0)  # accepted tempi (validation, not style design)
MIN_SR = 8000


@lru_cache(maxsize=1)
def default_config() -> DemoConfig:
    """The packaged ``demo.yaml`` (loaded once)."""
    return load_demo_config()


@dataclass(frozen=True)
class TrackSpec:
    """What defines a track's audio: style, exact tempo and key, length, format-independent rate."""

    style: str
    bpm: float
    key_root: int
    key_mode: str
    duration_s: float
    sr: int
    seed: int
    stereo: bool
    energy: float | None = None


@dataclass(frozen=True)
class RenderedTrack:
    """Audio plus the design facts the truth table records."""

    audio: np.ndarray
    energy: float
    progression: str
    sections: tuple[Section, ...]


def generate_track(
    style: str,
    bpm: float,
    key_root: int,
    key_mode: str,
    duration_s: float,
    sr: int,
    seed: int,
    stereo: bool,
    energy: float | None = None,
    config: DemoConfig | None = None,
) -> np.ndarray:
    """A float32 track, shape ``(n,)`` (mono) or ``(2, n)`` (stereo), ``n = round(duration_s * sr)``.

    Deterministic in all arguments. ``energy`` (0-1) sets loudness and density; when ``None`` it
    is drawn from the style's range with ``seed``.
    """
    spec = TrackSpec(style, bpm, key_root, key_mode, duration_s, sr, seed, stereo, energy)
    return render_track(spec, config).audio


def render_track(spec: TrackSpec, config: DemoConfig | None = None) -> RenderedTrack:
    """Render ``spec``; returns the audio with its energy, chord progression and sections."""
    style, bpm, key_root, key_mode, sr = spec.style, spec.bpm, spec.key_root, spec.key_mode, spec.sr
    duration_s, seed, stereo, energy = spec.duration_s, spec.seed, spec.stereo, spec.energy
    cfg = config or default_config()
    sty = _check_args(cfg, style, bpm, key_root, key_mode, duration_s, sr)
    rng_choice, rng_kit, rng_form, rng_human = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(4))
    level = float(rng_choice.uniform(*sty.energy)) if energy is None else float(np.clip(energy, 0.0, 1.0))
    progression = str(rng_choice.choice(sty.progressions[key_mode]))

    bar_s = BEATS_PER_BAR * 60.0 / bpm
    step_s = bar_s / STEPS_PER_BAR
    n = int(round(duration_s * sr))
    n_bars = max(1, int((duration_s - cfg.mix.tail_s) // bar_s))
    sections = section_bars(n_bars, cfg.arrangement, rng_form)
    gains = layer_gains(sections, cfg.arrangement)
    chords = chord_per_bar(parse_progression(progression, key_root, key_mode), n_bars)
    scale = {k: cfg.mix.layer_gain.get(k, 1.0) * sty.layer_scale.get(k, 1.0) for k in cfg.mix.layer_gain}
    swing = sty.swing or None

    buses = {name: np.zeros(n, dtype=np.float32) for name in LAYERS}
    kick_ev = _drums(buses, sty, gains, scale, step_s, sr, cfg, rng_kit, rng_human, swing, key_root, level)
    _fx(buses, sections, bar_s, sr, cfg, rng_kit, scale)

    bass = bass_events(sty.bass, chords, key_root, cfg.mix.registers["bass"], gains["bass"], step_s, cfg.humanize, rng_human, swing)
    _pitched(buses["bass"], bass, step_s, sr, scale["bass"], lambda m, d: ins.bass_note(float(midi_to_hz(m)), d, sr, level))
    pad = sty.chords.get("type") == "pad"
    ch = chord_events(None if pad else sty.chords["pattern"], chords, gains["chords"], step_s, cfg.humanize, rng_human)
    reg = cfg.mix.registers
    voicings = [voice_chord(c, reg["chords"], reg["chord_root"]) for c in chords]
    _pitched(buses["chords"], ch, step_s, sr, scale["chords"], lambda b, d: ins.chord_tone(midi_to_hz(voicings[b]), d, sr, pad), key=lambda b: chords[b])
    lead_low = 12 * (int(sty.lead["octave"]) + 1)
    lead = lead_events(sty.lead["pattern"], chords, lead_low, gains["lead"], step_s, cfg.humanize, rng_human)
    _pitched(buses["lead"], lead, step_s, sr, scale["lead"], lambda m, d: ins.pluck(float(midi_to_hz(m)), d, sr))

    if sty.sidechain:
        duck = sidechain_envelope(kick_ev.onset_s, kick_ev.gain, n, sr, cfg.mix.sidechain_depth, cfg.mix.sidechain_release_s)
        buses["bass"] *= duck
        buses["chords"] *= duck
    audio = master(mixdown(buses, cfg.mix, sr, stereo), level, cfg.mix)
    return RenderedTrack(audio, level, progression, tuple(sections))


def _check_args(cfg: DemoConfig, style: str, bpm: float, key_root: int, key_mode: str, duration_s: float, sr: int) -> StyleConfig:
    if style not in cfg.styles:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(sorted(cfg.styles))}")
    sty = cfg.styles[style]
    if key_mode not in sty.modes():
        raise ValueError(f"style {style!r} has no {key_mode!r} progressions (has: {', '.join(sty.modes())})")
    if not 0 <= int(key_root) <= 11 or int(key_root) != key_root:
        raise ValueError(f"key_root must be an integer pitch class 0-11, got {key_root!r}")
    if not np.isfinite(bpm) or not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
        raise ValueError(f"bpm must be within {BPM_RANGE[0]:g}-{BPM_RANGE[1]:g}, got {bpm!r}")
    if sr < MIN_SR:
        raise ValueError(f"sample rate must be >= {MIN_SR} Hz, got {sr!r}")
    bar_s = BEATS_PER_BAR * 60.0 / bpm
    if not np.isfinite(duration_s) or duration_s < bar_s + cfg.mix.tail_s:
        raise ValueError(f"duration_s must cover at least one bar plus the tail ({bar_s + cfg.mix.tail_s:.2f} s), got {duration_s!r}")
    return sty


def _drums(
    buses: dict[str, np.ndarray],
    sty: StyleConfig,
    gains: dict[str, np.ndarray],
    scale: dict[str, float],
    step_s: float,
    sr: int,
    cfg: DemoConfig,
    rng_kit: np.random.Generator,
    rng_human: np.random.Generator,
    swing: dict[str, float] | None,
    key_root: int,
    energy: float,
) -> Events:
    """Render the kit (kick tuned to the tonic) and place every drum layer; returns the kick events."""
    tune = float(midi_to_hz(cfg.mix.kick_tune_midi + (key_root - cfg.mix.kick_tune_midi) % 12))
    backbeat = ins.clap if rng_kit.random() < 0.5 else ins.snare
    perc = ins.shaker if rng_kit.random() < 0.5 else ins.conga
    kit = {
        "kick": [ins.kick(sr, rng_kit, tune)],
        "snare": [backbeat(sr, rng_kit)],
        "hat": [ins.hihat(sr, rng_kit) for _ in range(2)],
        "hat_open": [ins.hihat(sr, rng_kit, open_=True)],
        "perc": [perc(sr, rng_kit)],
    }
    patterns = dict(sty.drums)
    if energy >= cfg.mix.dense_hat_energy:
        patterns["hat"] = sty.dense_hat
    kick_ev = Events(np.zeros(0), np.zeros(0))
    for layer, sounds in kit.items():
        ev = drum_events(patterns[layer], gains[layer], step_s, cfg.humanize, rng_human, swing)
        choice = rng_human.integers(0, len(sounds), len(ev))
        for i, sound in enumerate(sounds):
            sel = choice == i
            place(buses[layer], sound, ev.onset_s[sel], ev.gain[sel] * scale[layer], sr)
        if layer == "kick":
            kick_ev = ev
    return kick_ev


def _fx(
    buses: dict[str, np.ndarray], sections: list[Section], bar_s: float, sr: int, cfg: DemoConfig, rng: np.random.Generator, scale: dict[str, float]
) -> None:
    """A crash on the first beat of each configured section and a riser into every breakdown's end."""
    crash = ins.cymbal(sr, rng, "crash")
    starts = np.array([s.start_bar * bar_s for s in sections if s.name in cfg.mix.crash_sections])
    place(buses["hat_open"], crash, starts, np.full(len(starts), scale["crash"]), sr)
    for sec in sections:
        if sec.name == "breakdown":
            bars = min(sec.n_bars, cfg.mix.riser_max_bars)
            riser = ins.riser(sr, rng, bars * bar_s)
            onset = np.array([(sec.start_bar + sec.n_bars - bars) * bar_s])
            place(buses["fx"], riser, onset, np.array([scale["fx"]]), sr)


def _pitched(
    bus: np.ndarray,
    ev: Events,
    step_s: float,
    sr: int,
    gain: float,
    render: Callable[[int, float], np.ndarray],
    key: Callable[[int], Hashable] | None = None,
) -> None:
    """Place pitched events, rendering each distinct (note, length) once and reusing it.

    ``render(note, duration_s)`` makes the sound; ``key(note)`` says which notes sound the same
    (for chords, the chord of the bar), so repeated chords are rendered once.
    """
    if len(ev) == 0:
        return
    cache: dict[tuple[Hashable, int], np.ndarray] = {}
    groups: dict[tuple[Hashable, int], list[int]] = {}
    for i, (m, steps) in enumerate(zip(ev.midi, ev.steps)):
        ident = (key(int(m)) if key else int(m), int(steps))
        groups.setdefault(ident, []).append(i)
        if ident not in cache:
            cache[ident] = render(int(m), float(steps) * step_s)
    for ident, idx in groups.items():
        place(bus, cache[ident], ev.onset_s[idx], ev.gain[idx] * gain, sr)
