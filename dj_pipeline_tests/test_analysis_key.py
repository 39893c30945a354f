"""The learned key model: equivariance, fitting, keys of generated music, the devset and real clips."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.analysis import analyze_segments, load_analysis_config
from dj_pipeline.analysis.key import KeyChroma, key_from_chroma, relative_key
from dj_pipeline.analysis.key_model import fit_key_model, key_logits
from dj_pipeline.analysis.profiles import learned_model, profile
from dj_pipeline.demo.track import generate_track

CFG = load_analysis_config()
MODEL = learned_model(CFG.key.profile)
ROOT = Path(__file__).resolve().parents[1]


def test_shipped_model_is_the_default() -> None:
    assert MODEL is not None and MODEL.major.shape == (12,) and MODEL.minor.shape == (12,)
    assert learned_model("edm_blend") is None


def test_logits_rotate_with_the_chroma() -> None:
    """Transposing the music transposes the scores: no tonic is preferred."""
    c = np.random.default_rng(0).random(12)
    base = key_logits(c, MODEL)[0]
    for shift in (1, 5, 11):
        moved = key_logits(np.roll(c, shift), MODEL)[0]
        assert np.allclose(moved[:12], np.roll(base[:12], shift)) and np.allclose(moved[12:], np.roll(base[12:], shift))


def test_relative_key_index() -> None:
    assert relative_key(0) == 12 + 9  # C major -> A minor
    assert relative_key(12 + 9) == 0
    assert relative_key(12 + 4) == 7  # E minor -> G major


def _synthetic_chromas(n: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Chromas drawn around the Temperley profiles of random keys."""
    rng = np.random.default_rng(seed)
    major, minor = profile("temperley")
    out, labels = [], []
    for _ in range(n):
        k = int(rng.integers(24))
        t = np.roll(major if k < 12 else minor, k % 12)
        out.append(np.exp(0.8 * t + rng.normal(0.0, 0.6, 12)))
        labels.append(k)
    return out, labels


def test_fitting_learns_keys_it_was_not_shown() -> None:
    train, y_train = _synthetic_chromas(300, seed=1)
    test, y_test = _synthetic_chromas(100, seed=2)
    model = fit_key_model(train, y_train, l2=0.01, log_eps=0.01)
    hits = np.mean([int(np.argmax(key_logits(c, model))) == y for c, y in zip(test, y_test)])
    untrained = fit_key_model(train, list(np.roll(y_train, 1)), l2=0.01, log_eps=0.01)  # shuffled labels
    chance = np.mean([int(np.argmax(key_logits(c, untrained))) == y for c, y in zip(test, y_test)])
    assert hits >= 0.8 and chance < 0.3, (hits, chance)


def test_flat_or_empty_chroma_gives_no_key() -> None:
    res = key_from_chroma(KeyChroma(None, 0.1, "no key: flat chroma (no tonal content)"), CFG.key)
    assert res.root is None and res.clarity == 0.0 and "flat" in res.reason
    res = key_from_chroma(KeyChroma(None, None, "no key: too few tonal peaks (0.0/s)"), CFG.key)
    assert res.root is None and res.clarity is None and res.tuning_cents is None


@pytest.mark.parametrize(
    ("style", "bpm", "root", "mode"),
    [("techno", 132, 2, "minor"), ("house", 124, 7, "major"), ("drum_and_bass", 172, 11, "minor"), ("trance", 138, 5, "minor"), ("disco", 118, 10, "major")],
)
def test_key_of_generated_music(style: str, bpm: float, root: int, mode: str) -> None:
    """The demo generator's music (another seed than the training library's) in minor and major keys."""
    y = generate_track(style, bpm, root, mode, 45.0, CFG.sr, seed=11, stereo=False)
    f = analyze_segments({"main": y[: 30 * CFG.sr], "tail_1": y[30 * CFG.sr :]}, CFG.sr, 45.0, CFG)
    assert (f["key_root"], f["key_mode"]) == (root, mode)
    assert f["key_clarity"] > 0.5


DEVSET = ROOT.parent / "shared" / "devset"


@pytest.mark.skipif(not (DEVSET / "labels.csv").exists(), reason="../shared/devset is not available")
def test_every_keyed_devset_recording() -> None:
    """The two real recordings of the devset with a key (an orchestra in G minor, a ballet in E minor)."""
    from dj_pipeline.analysis import analyze_file
    from dj_pipeline.music.keys import parse_key

    rows = pd.read_csv(DEVSET / "labels.csv").dropna(subset=["key"])
    assert len(rows) >= 2
    for r in rows.itertuples():
        f = analyze_file(DEVSET / r.file)
        assert (f["key_root"], f["key_mode"]) == parse_key(r.key), r.file


REALSET = Path(os.environ.get("DJ_REALSET", "/work/realset"))


@pytest.mark.slow
@pytest.mark.skipif(not (REALSET / "truth.csv").is_file(), reason="real dev set not extracted (DJ_REALSET)")
def test_cross_validated_key_on_real_clips(tmp_path: Path) -> None:
    """GTZAN keyed clips, five folds, each scored by a model fitted without it (GTZAN only): MIREX >= 0.68."""
    sys.path.insert(0, str(ROOT / "bench"))
    from key_eval import chromas, cross_validated, keyed_items, score_columns

    df = keyed_items(REALSET, None, None)
    ch = chromas(df, CFG.key, tmp_path / "chroma.pkl")
    score_columns(df, "cv", cross_validated(df, ch, CFG.key, 5))
    before = replace(CFG.key, profile="edm_blend", salient_ratio=4.0)
    score_columns(df, "before", [key_from_chroma(c, before) for c in chromas(df, before, tmp_path / "chroma.pkl")])
    assert df["cv_score"].mean() >= 0.68
    assert df["cv_score"].mean() > df["before_score"].mean() + 0.1
