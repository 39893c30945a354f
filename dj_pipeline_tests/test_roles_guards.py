"""Each guard rail, triggered by a sample's real features; each also shown to change nothing when off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dj_pipeline.config.roles import ROLES, load_roles_config
from dj_pipeline.roles import apply_guards, preprocess_oneshot, role_allowed, score_clips
from dj_pipeline_tests.test_roles_signals import SR, drone, features_of, hat, kick, snare


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


def off(cfg, name: str):
    guard = dataclasses.replace(getattr(cfg.guards, name), enabled=False)
    return dataclasses.replace(cfg.guards, **{name: guard})


def click() -> np.ndarray:
    """A 30 ms, 1.2 kHz tick with a 5 ms decay: as sharp and short as a sound gets."""
    t = np.arange(int(0.03 * SR)) / SR
    return (np.sin(2 * np.pi * 1200 * t) * np.exp(-t / 0.005)).astype(np.float32)


def p(**kw: float) -> np.ndarray:
    v = np.array([kw.get(r.lower(), 0.0) for r in ROLES])
    return v / v.sum()


def winner(probs: np.ndarray) -> str:
    return ROLES[int(np.argmax(probs))]


def test_texture_suppress_on_a_click(cfg) -> None:
    f = features_of(click(), cfg)
    probs = p(accent=0.3, texture=0.6, core=0.1)
    guarded, reasons = apply_guards(probs, f, cfg.guards)
    assert winner(guarded) == "ACCENT" and any(r.startswith("texture_suppress") for r in reasons)
    assert not role_allowed("TEXTURE", f, cfg.guards)
    assert winner(apply_guards(probs, f, off(cfg, "texture_suppress"))[0]) == "TEXTURE"
    # a long pad is not affected
    assert role_allowed("TEXTURE", features_of(drone(), cfg), cfg.guards)


def test_sustained_noise_suppress_end_to_end_on_a_drone(cfg) -> None:
    clip = preprocess_oneshot(drone(), SR, cfg.preprocess)
    guarded = score_clips([clip], cfg)
    assert winner(guarded.p_final[0]) == "TEXTURE"
    assert any(r.startswith("sustained_noise_suppress") for r in guarded.reasons[0])
    unguarded = score_clips([clip], dataclasses.replace(cfg, guards=off(cfg, "sustained_noise_suppress")))
    assert winner(unguarded.p_final[0]) in {"ACCENT", "MOTION"}  # the rules alone hear a noisy hit
    assert not role_allowed("MOTION", guarded.features[0], cfg.guards)
    assert role_allowed("MOTION", features_of(hat(), cfg), cfg.guards)  # a short hat is not sustained noise


def test_motion_minimum_on_a_kick(cfg) -> None:
    f = features_of(kick(), cfg)
    probs = p(motion=0.6, core=0.3, accent=0.1)
    guarded, reasons = apply_guards(probs, f, cfg.guards)
    assert winner(guarded) == "CORE" and any(r.startswith("motion_minimum") for r in reasons)
    assert winner(apply_guards(probs, f, off(cfg, "motion_minimum"))[0]) == "MOTION"
    assert role_allowed("MOTION", features_of(hat(), cfg), cfg.guards)


def test_conservative_fill(cfg) -> None:
    f = features_of(snare(), cfg)
    unsure = p(fill=0.35, accent=0.33, core=0.32)  # FILL below min_prob 0.4 -> runner-up
    guarded, reasons = apply_guards(unsure, f, cfg.guards)
    assert winner(guarded) == "ACCENT" and any(r.startswith("conservative_fill") for r in reasons)
    assert guarded[ROLES.index("FILL")] < guarded[ROLES.index("ACCENT")]
    assert winner(apply_guards(unsure, f, off(cfg, "conservative_fill"))[0]) == "FILL"
    clear = p(fill=0.8, accent=0.1, core=0.1)
    assert winner(apply_guards(clear, f, cfg.guards)[0]) == "FILL"


def test_low_confidence_texture(cfg) -> None:
    f = features_of(drone(), cfg)
    hair = p(texture=0.41, core=0.40, fill=0.19)  # TEXTURE wins by 0.01 < margin_max
    guarded, reasons = apply_guards(hair, f, cfg.guards)
    assert winner(guarded) == "CORE" and any(r.startswith("low_confidence_texture") for r in reasons)
    assert winner(apply_guards(hair, f, off(cfg, "low_confidence_texture"))[0]) == "TEXTURE"
    assert winner(apply_guards(p(texture=0.7, core=0.3), f, cfg.guards)[0]) == "TEXTURE"


def test_guards_keep_a_distribution_and_are_configurable(cfg) -> None:
    f = features_of(kick(), cfg)
    guarded, reasons = apply_guards(p(core=0.9, accent=0.08, motion=0.02), f, cfg.guards)
    assert guarded.sum() == pytest.approx(1.0) and winner(guarded) == "CORE"
    assert guarded[ROLES.index("MOTION")] < 0.02 * 0.2  # suppressed ...
    assert reasons == []  # ... but not explained: MOTION was not among the top two
    assert len(apply_guards(p(core=0.9, motion=0.1), f, cfg.guards)[1]) == 1  # runner-up: explained
    stricter = load_roles_config(overrides={"guards": {"conservative_fill": {"min_prob": 0.9}}})
    assert winner(apply_guards(p(fill=0.8, accent=0.2), f, stricter.guards)[0]) == "ACCENT"
