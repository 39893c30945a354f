"""CLAP zero-shot scores and fusion: a deterministic fake embedder, then a tiny random CLAP model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dj_pipeline.config.roles import ROLES, load_roles_config
from dj_pipeline.roles import assign_roles, clap_probabilities, fuse
from dj_pipeline_tests.test_roles_signals import hat, kick, write


class FakeClap:
    """Text -> one-hot of the role whose prompt it is; audio -> one-hot of a fixed role per call."""

    def __init__(self, config, audio_role: str) -> None:
        self.owner = {t: r for r, prompts in config.clap.prompts.items() for t in prompts}
        self.audio_role = audio_role
        self.text_calls = 0
        self.audio_srs: list[int] = []

    def embed_text(self, texts: list[str]) -> np.ndarray:
        self.text_calls += 1
        return np.eye(len(ROLES))[[ROLES.index(self.owner[t]) for t in texts]]

    def embed(self, windows: list[np.ndarray], sr: int) -> np.ndarray:
        self.audio_srs.append(sr)
        return np.tile(np.eye(len(ROLES))[ROLES.index(self.audio_role)], (len(windows), 1))


class BrokenClap(FakeClap):
    def embed(self, windows: list[np.ndarray], sr: int) -> np.ndarray:
        raise RuntimeError("out of memory")


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    d = tmp_path_factory.mktemp("clap_samples")
    return [("kick", write(d / "kick.wav", kick())), ("hat", write(d / "hat.wav", hat()))]


def test_clap_probabilities_softmax_of_cosine_and_text_cache(cfg) -> None:
    fake = FakeClap(cfg, "MOTION")
    probs = clap_probabilities([np.zeros(4800, np.float32)] * 3, fake, cfg)
    top = np.exp(1.0 / cfg.clap.tau)
    assert probs.shape == (3, 5)
    assert probs[0, ROLES.index("MOTION")] == pytest.approx(top / (top + 4.0))
    clap_probabilities([np.zeros(4800, np.float32)], fake, cfg)
    assert fake.text_calls == 1 and fake.audio_srs == [48000, 48000]  # prompts embedded once, audio at 48 kHz


def test_fusion_formula_and_bias(cfg) -> None:
    p_rule = np.array([[0.7, 0.1, 0.1, 0.05, 0.05]])
    p_clap = np.array([[0.0, 0.0, 0.0, 0.0, 1.0]])
    fused, alpha = fuse(p_rule, p_clap, cfg)
    assert alpha == 0.9 and np.allclose(fused, 0.9 * p_rule + 0.1 * p_clap)
    rules_only, alpha_none = fuse(p_rule, None, cfg)
    assert alpha_none == 1.0 and np.allclose(rules_only, p_rule)
    biased = load_roles_config(overrides={"fusion": {"role_bias": {"FILL": np.log(20.0)}}})
    out, _ = fuse(p_rule, None, biased)
    assert out.sum() == pytest.approx(1.0) and out[0, 3] == pytest.approx(1.0 / (0.95 + 1.0))


def test_assign_roles_with_fake_clap(cfg, files) -> None:
    roles, errors = assign_roles(files, cfg, clap=FakeClap(cfg, "TEXTURE"))
    assert errors.empty and (roles["fusion_alpha"] == 0.9).all()
    assert roles["p_clap_texture"].gt(0.99).all()  # the fake hears TEXTURE in everything ...
    assert list(roles["role"]) == ["CORE", "MOTION"]  # ... but alpha = 0.9 keeps the rules in charge
    rule = roles[[f"p_rule_{r.lower()}" for r in ROLES]].to_numpy()
    clap = roles[[f"p_clap_{r.lower()}" for r in ROLES]].to_numpy(dtype=float)
    assert np.allclose(rule @ np.ones(5), 1.0) and np.allclose(clap.sum(axis=1), 1.0)
    clap_only = load_roles_config(overrides={"fusion": {"alpha": 0.0}, "guards": {"texture_suppress": {"enabled": False}}})
    roles0, _ = assign_roles(files, clap_only, clap=FakeClap(clap_only, "TEXTURE"))
    assert list(roles0["role"]) == ["TEXTURE", "TEXTURE"]


def test_failing_clap_falls_back_to_rules(cfg, files) -> None:
    roles, errors = assign_roles(files, cfg, clap=BrokenClap(cfg, "CORE"))
    assert errors.empty and list(roles["role"]) == ["CORE", "MOTION"]
    assert (roles["fusion_alpha"] == 1.0).all() and roles["p_clap_core"].isna().all()
    assert roles["reason"].str.contains("CLAP failed").all()


def test_tiny_random_clap_end_to_end(cfg, files, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from dj_pipeline.embeddings import get_embedder
    from dj_pipeline_tests.tiny_clap import save_tiny_clap

    clap = get_embedder("clap", model=str(save_tiny_clap(tmp_path / "tiny")), device="cpu")
    first, errors = assign_roles(files, cfg, clap=clap)
    again, _ = assign_roles(files, cfg, clap=clap)
    cols = [f"p_clap_{r.lower()}" for r in ROLES]
    p = first[cols].to_numpy(dtype=float)
    assert errors.empty and np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p, again[cols].to_numpy(dtype=float))  # deterministic
    assert (first["fusion_alpha"] == 0.9).all()
    assert list(first["role"]) == ["CORE", "MOTION"]  # random CLAP weights cannot outvote the rules at alpha 0.9
