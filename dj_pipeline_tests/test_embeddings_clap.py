"""CLAP backend through the users' loader, with a tiny randomly initialised model saved locally.

No hub access: the model, feature extractor and a tiny byte-level BPE tokenizer are built here and
saved to a temporary directory, then loaded back with ``get_embedder("clap", model=<dir>)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from dj_pipeline.embeddings import BackendUnavailableError, EmbeddingError, find_local_clap, get_embedder  # noqa: E402
from dj_pipeline.embeddings.device import select_device  # noqa: E402
from dj_pipeline.index import build_index, search_text  # noqa: E402
from dj_pipeline.index.text import TextSearchUnavailable  # noqa: E402
from dj_pipeline_tests.tiny_clap import save_tiny_clap  # noqa: E402

SR = 48000


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clap(tmp_path_factory.mktemp("tiny_clap"))


@pytest.fixture(scope="module")
def clap(tiny_dir: Path):
    return get_embedder("clap", model=str(tiny_dir), device="cpu")


def noise(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def test_find_local_clap(tiny_dir: Path, tmp_path: Path) -> None:
    assert find_local_clap(tiny_dir) == tiny_dir.resolve()
    (tmp_path / "config.json").write_text("{}")
    assert find_local_clap(tmp_path) is None  # config without weights
    assert find_local_clap("nobody-here/not-a-real-clap-model") is None  # not in the HF cache; no network
    with pytest.raises(BackendUnavailableError, match="never downloads"):
        get_embedder("clap", model="nobody-here/not-a-real-clap-model")


def test_loader_info_and_auto_choice(clap, tiny_dir: Path) -> None:
    assert (clap.backend, clap.model, clap.dim, clap.sr, clap.device) == ("clap", str(tiny_dir.resolve()), 16, SR, "cpu")
    assert clap.info.backend == "clap" and clap.truncation == "rand_trunc"
    assert get_embedder("auto", model=str(tiny_dir), device="cpu").backend == "clap"


def test_audio_vectors_normalised_deterministic_and_chunk_averaged(clap, tiny_dir: Path) -> None:
    y = noise(20.0, 1)
    windows = [y, noise(25.0, 2), noise(0.3, 3)]
    v = clap.embed(windows, SR)
    assert v.shape == (3, 16) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(v, clap.embed(windows, SR))
    reloaded = get_embedder("clap", model=str(tiny_dir), device="cpu")
    np.testing.assert_allclose(reloaded.embed(windows, SR), v, atol=1e-6)
    halves = clap.embed([y[: 10 * SR], y[10 * SR :]], SR)
    mean = halves.mean(axis=0)
    np.testing.assert_allclose(v[0], mean / np.linalg.norm(mean), atol=1e-5)


@pytest.mark.parametrize("fusion", [False, True])
def test_torch_mel_matches_the_processor(clap, fusion: bool) -> None:
    from dj_pipeline.embeddings.clap_features import TorchClapMel

    fe = clap.processor.feature_extractor
    chunks = [noise(10.0, 8), noise(3.3, 9), noise(0.2, 10)]
    truncation = "fusion" if fusion else "rand_trunc"
    ref = fe(chunks, sampling_rate=SR, truncation=truncation, return_tensors="np")["input_features"]
    mine = TorchClapMel(fe, truncation, "cpu")(chunks).numpy()
    assert mine.shape == ref.shape == (3, 4 if fusion else 1, 1001, 64)
    np.testing.assert_allclose(mine, ref, atol=2e-3)
    with pytest.raises(ValueError, match="longer than the model input"):
        TorchClapMel(fe, truncation, "cpu")([noise(10.5, 1)])


def test_processor_features_give_the_same_vectors(clap, tiny_dir: Path) -> None:
    from dj_pipeline.config.embeddings import load_embeddings_config

    cfg = load_embeddings_config(overrides={"clap": {"features": "processor"}})
    slow = get_embedder("clap", model=str(tiny_dir), device="cpu", config=cfg)
    assert slow.torch_mel is None and clap.torch_mel is not None
    windows = [noise(12.0, 11), noise(1.0, 12)]
    np.testing.assert_allclose(slow.embed(windows, SR), clap.embed(windows, SR), atol=1e-4)


def test_chunking_rule(clap) -> None:
    assert [c.size for c in clap.chunk(np.zeros(25 * SR, np.float32))] == [10 * SR, 10 * SR, 5 * SR]
    assert [c.size for c in clap.chunk(np.zeros(21 * SR, np.float32))] == [10 * SR, 10 * SR]  # 1 s tail < 2 s dropped
    assert [c.size for c in clap.chunk(np.zeros(SR // 2, np.float32))] == [SR // 2]  # a one-shot is kept


def test_other_rates_are_resampled_and_bad_input_refused(clap) -> None:
    import soxr

    y = noise(10.0, 4)
    y44 = soxr.resample(y, SR, 44100).astype(np.float32)
    a, b = clap.embed([y], SR)[0], clap.embed([y44], 44100)[0]
    assert float(a @ b) > 0.99
    with pytest.raises(EmbeddingError, match="empty"):
        clap.embed([np.zeros(0, np.float32)], SR)
    with pytest.raises(EmbeddingError, match="NaN"):
        clap.embed([np.full(SR, np.inf, np.float32)], SR)


def test_text_tower(clap) -> None:
    t = clap.embed_text(["deep house kick", "ambient pad", "deep house kick"])
    assert t.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(t[0], t[2], atol=1e-6)
    assert float(t[0] @ t[1]) < 0.9999
    with pytest.raises(EmbeddingError, match="non-empty"):
        clap.embed_text(["  "])


def test_out_of_memory_halves_the_batch(clap, monkeypatch: pytest.MonkeyPatch) -> None:
    windows = [noise(30.0, 5)]
    expected = clap.embed(windows, SR)
    real = clap.model_obj.get_audio_features
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.OutOfMemoryError("simulated")
        return real(**kwargs)

    monkeypatch.setattr(clap.model_obj, "get_audio_features", flaky)
    before = clap.batch_size
    np.testing.assert_allclose(clap.embed(windows, SR), expected, atol=1e-5)
    assert clap.batch_size == before // 2 and calls["n"] >= 2
    clap.batch_size = before


def test_fused_model_is_deterministic(tmp_path: Path) -> None:
    emb = get_embedder("clap", model=str(save_tiny_clap(tmp_path / "fused", enable_fusion=True)), device="cpu")
    assert emb.truncation == "fusion"
    windows = [noise(10.0, 6), noise(3.0, 7)]
    np.testing.assert_array_equal(emb.embed(windows, SR), emb.embed(windows, SR))


def test_text_search_over_a_clap_index(clap, tmp_path: Path) -> None:
    vecs = clap.embed([noise(5.0, s) for s in range(6)], SR)
    ids = [f"t{i}" for i in range(6)]
    build_index(vecs, ids, tmp_path / "clap", "track", clap.backend, clap.model)
    hits = search_text(tmp_path / "clap", ["techno"], k=3, embedder=clap)
    assert len(hits) == 1 and len(hits[0]) == 3 and {h[0] for h in hits[0]} <= set(ids)
    assert hits[0][0][1] >= hits[0][1][1] >= hits[0][2][1]
    build_index(vecs, ids, tmp_path / "dsp", "track", "dsp", "dsp-v1:x")
    with pytest.raises(TextSearchUnavailable, match="'clap' embedding backend"):
        search_text(tmp_path / "dsp", "techno")


def test_device_selection() -> None:
    assert select_device("cpu") == "cpu"
    assert select_device(None) in ("cuda", "mps", "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            select_device("cuda")
