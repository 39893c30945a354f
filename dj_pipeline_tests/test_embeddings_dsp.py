"""DSP embedder, pooling, standardisation and get_embedder (no model weights needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dj_pipeline.config.embeddings import load_embeddings_config
from dj_pipeline.embeddings import (
    BackendUnavailableError,
    DspEmbedder,
    DspStandardizer,
    EmbeddingError,
    IdentityStandardizer,
    fit_library_standardizer,
    embed_tracks,
    get_embedder,
    load_standardizer,
    pool_track_vector,
    prepare_vectors,
)
from dj_pipeline.index import neighbour_label_agreement, random_label_agreement

SR = 22050


def _decay_tone(freq_hz: float, dur_s: float, decay_s: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(dur_s * sr)) / sr
    return np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / decay_s)


def _place(y: np.ndarray, hit: np.ndarray, times_s: np.ndarray, sr: int = SR) -> None:
    for t in times_s:
        a = int(t * sr)
        b = min(y.size, a + hit.size)
        y[a:b] += hit[: b - a]


def four_on_floor(bpm: float, seed: int, dur_s: float = 12.0) -> np.ndarray:
    """Kick on every beat, hats on the off-beats, a bass note per beat: a house-like loop."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(dur_s * SR))
    beat = 60.0 / bpm
    beats = np.arange(0, dur_s - 0.5, beat)
    _place(y, _decay_tone(55.0, 0.4, 0.08), beats)
    _place(y, rng.standard_normal(int(0.05 * SR)) * np.exp(-np.arange(int(0.05 * SR)) / 300) * 0.3, beats + beat / 2)
    _place(y, _decay_tone(rng.uniform(80, 120), beat * 0.9, 0.2) * 0.4, beats)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def ambient_pad(seed: int, dur_s: float = 12.0) -> np.ndarray:
    """Slowly swelling sustained chord, no drums."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(dur_s * SR)) / SR
    root = rng.uniform(110, 220)
    chord = sum(np.sin(2 * np.pi * root * r * t + rng.uniform(0, 6)) for r in (1.0, 1.2, 1.5, 2.0))
    y = chord * (0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t)) + 0.01 * rng.standard_normal(t.size)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def breakbeat(bpm: float, seed: int, dur_s: float = 12.0) -> np.ndarray:
    """Fast broken beat: kick on 1 and the "and" of 3, noisy snares on 2 and 4, busy 16th hats."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(dur_s * SR))
    beat = 60.0 / bpm
    bars = np.arange(0, dur_s - 4 * beat, 4 * beat)
    _place(y, _decay_tone(60.0, 0.3, 0.06), np.concatenate([bars, bars + 2.5 * beat]))
    snare = rng.standard_normal(int(0.15 * SR)) * np.exp(-np.arange(int(0.15 * SR)) / 1500)
    _place(y, snare * 0.8, np.concatenate([bars + beat, bars + 3 * beat]))
    hat = rng.standard_normal(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / 150) * 0.2
    _place(y, hat, np.arange(0, dur_s - 0.1, beat / 4))
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def emb() -> DspEmbedder:
    return DspEmbedder()


@pytest.fixture(scope="module")
def styled() -> tuple[list[np.ndarray], list[str]]:
    ys, labels = [], []
    for i in range(4):
        ys.append(four_on_floor(122 + 2 * i, seed=i))
        labels.append("house")
        ys.append(ambient_pad(seed=10 + i))
        labels.append("ambient")
        ys.append(breakbeat(170 + 2 * i, seed=20 + i))
        labels.append("dnb")
    return ys, labels


def test_vectors_are_unit_norm_finite_deterministic(emb: DspEmbedder, styled) -> None:
    ys, _ = styled
    v1 = emb.embed(ys[:3], SR)
    v2 = DspEmbedder().embed(ys[:3], SR)
    assert v1.shape == (3, emb.dim) and v1.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v1, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(v1, v2)
    assert emb.info.backend == "dsp" and emb.info.model.startswith("dsp-v1:") and emb.info.sr == SR
    assert sum(n for _, n in emb.layout()) == emb.dim


def test_resampled_input_gives_nearly_the_same_vector(emb: DspEmbedder) -> None:
    import soxr

    y = four_on_floor(124, seed=3)
    y44 = soxr.resample(y, SR, 44100).astype(np.float32)
    a, b = emb.embed([y], SR)[0], emb.embed([y44], 44100)[0]
    other = emb.embed([ambient_pad(seed=3)], SR)[0]
    assert float(a @ b) > 0.99
    assert float(a @ b) > float(a @ other) + 0.05


def test_styles_are_each_others_nearest_neighbours(emb: DspEmbedder, styled) -> None:
    ys, labels = styled
    raw = emb.embed(ys, SR)
    vecs = fit_library_standardizer(raw, "dsp").transform(raw)
    agreement = neighbour_label_agreement(vecs, labels, k=3)
    assert agreement >= 0.9, agreement
    assert random_label_agreement(labels) < 0.3


def test_harmony_block_is_transposition_invariant(emb: DspEmbedder) -> None:
    t = np.arange(8 * SR) / SR

    def chord(f: float, ratios: tuple[float, ...]) -> np.ndarray:
        return (0.2 * sum(np.sin(2 * np.pi * f * r * t) for r in ratios)).astype(np.float32)

    offset = sum(n for g, n in emb.layout()[: [g for g, _ in emb.layout()].index("chroma")])
    block = slice(offset, offset + dict(emb.layout())["chroma"])
    triad, cluster = (1.0, 2 ** (4 / 12), 2 ** (7 / 12)), (1.0, 2 ** (1 / 12), 2 ** (2 / 12))
    a = emb.features(chord(220.0, triad))[block]
    b = emb.features(chord(220.0 * 2 ** (3 / 12), triad))[block]
    c = emb.features(chord(220.0, cluster))[block]
    assert np.linalg.norm(a - b) < 0.25 * np.linalg.norm(a - c)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros(0, np.float32), "empty"),
        (np.array([0.1, np.nan] * 1000, np.float32), "NaN"),
        (np.zeros((2, 1000), np.float32), "mono"),
    ],
)
def test_bad_windows_raise_a_readable_error(emb: DspEmbedder, bad: np.ndarray, message: str) -> None:
    with pytest.raises(EmbeddingError, match=message):
        emb.embed([bad], SR)


def test_bad_call_shapes_raise(emb: DspEmbedder) -> None:
    with pytest.raises(EmbeddingError, match="list"):
        emb.embed(np.zeros(1000, np.float32), SR)
    with pytest.raises(EmbeddingError, match="sample rate"):
        emb.embed([np.zeros(1000, np.float32)], 0)
    assert emb.embed([], SR).shape == (0, emb.dim)


def test_silence_and_tiny_windows_give_finite_unit_vectors(emb: DspEmbedder) -> None:
    v = emb.embed([np.zeros(SR, np.float32), np.full(50, 0.1, np.float32)], SR)
    assert np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_model_id_follows_the_config() -> None:
    base = DspEmbedder(load_embeddings_config())
    other = DspEmbedder(load_embeddings_config(overrides={"dsp": {"n_mels": 40}}))
    assert base.model != other.model and other.dim == base.dim - 16
    with pytest.raises(ValueError, match="n_mfcc"):
        DspEmbedder(load_embeddings_config(overrides={"dsp": {"n_mfcc": 1}}))


def test_pool_track_vector_weights_main_and_tails() -> None:
    e = np.eye(4, dtype=np.float32)
    vecs = {"intro": e[3], "outro": e[3], "main": e[0], "tail_1": e[1], "tail_2": e[2]}
    pooled = pool_track_vector(vecs)
    expected = np.array([2.0, 1.0, 1.0, 0.0]) / np.sqrt(6.0)
    np.testing.assert_allclose(pooled, expected, atol=1e-6)
    np.testing.assert_allclose(pool_track_vector({"intro": e[0], "outro": e[1]}), np.array([1, 1, 0, 0]) / np.sqrt(2), atol=1e-6)
    with pytest.raises(EmbeddingError, match="no window"):
        pool_track_vector({"something": e[0]})
    with pytest.raises(EmbeddingError, match="finite"):
        pool_track_vector({"main": np.array([np.nan, 0.0, 0.0, 1.0])})


def test_embed_tracks_matches_per_track_calls(emb: DspEmbedder, styled) -> None:
    ys = styled[0]
    tracks = [{"intro": ys[0], "main": ys[1]}, {}, {"main": ys[2], "tail_1": ys[3], "outro": ys[4]}]
    out = embed_tracks(emb, tracks, SR)
    assert [sorted(o) for o in out] == [["intro", "main", "track"], [], ["main", "outro", "tail_1", "track"]]
    single = emb.embed([ys[2], ys[3], ys[4]], SR)
    np.testing.assert_allclose(out[2]["tail_1"], single[1], atol=1e-6)
    np.testing.assert_allclose(out[2]["track"], pool_track_vector({"main": single[0], "tail_1": single[1]}), atol=1e-6)


def test_standardizer_round_trip_and_guards(tmp_path: Path, emb: DspEmbedder, styled) -> None:
    raw = emb.embed(styled[0][:6], SR)
    std = fit_library_standardizer(raw, "dsp")
    assert isinstance(std, DspStandardizer) and std.weights is not None
    out = std.transform(raw)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    std.save(tmp_path)
    loaded = load_standardizer(tmp_path)
    np.testing.assert_array_equal(loaded.transform(raw), out)
    np.testing.assert_array_equal(prepare_vectors(raw, "dsp", tmp_path), out)
    with pytest.raises(ValueError, match="backend 'dsp'"):
        prepare_vectors(raw, "clap", tmp_path)
    with pytest.raises(ValueError, match="library statistics"):
        prepare_vectors(raw, "dsp", None)
    with pytest.raises(ValueError, match="dims"):
        std.transform(raw[:, :10])
    with pytest.raises(ValueError, match="zero vectors"):
        DspStandardizer().fit(np.zeros((0, 4)))
    with pytest.raises(FileNotFoundError):
        load_standardizer(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown embedding backend"):
        fit_library_standardizer(raw, "mfcc")


def test_identity_standardizer_for_clap(tmp_path: Path) -> None:
    raw = np.array([[3.0, 4.0], [0.0, 2.0]], np.float32)
    std = fit_library_standardizer(raw, "clap")
    assert isinstance(std, IdentityStandardizer)
    std.save(tmp_path)
    np.testing.assert_allclose(prepare_vectors(raw, "clap", tmp_path), [[0.6, 0.8], [0.0, 1.0]], atol=1e-6)
    np.testing.assert_allclose(prepare_vectors(raw, "clap", None), [[0.6, 0.8], [0.0, 1.0]], atol=1e-6)


def test_get_embedder_backends(tmp_path: Path) -> None:
    assert get_embedder("dsp").backend == "dsp"
    # auto without CLAP weights: musicnn where its checkpoint is installed (the README's set-up
    # commands install it), else dsp -- both sides checked, whatever this machine has
    from dj_pipeline.embeddings.factory import musicnn_runs_here

    installed = load_embeddings_config()
    expected = "musicnn" if musicnn_runs_here(installed) else "dsp"
    assert get_embedder("auto", model=str(tmp_path / "no_model"), config=installed).backend == expected
    no_musicnn = load_embeddings_config(overrides={"musicnn": {"checkpoint": str(tmp_path / "no_checkpoint")}})
    assert get_embedder("auto", model=str(tmp_path / "no_model"), config=no_musicnn).backend == "dsp"
    with pytest.raises(BackendUnavailableError, match="not on disk"):
        get_embedder("clap", model=str(tmp_path / "no_model"))
    with pytest.raises(ValueError, match="unknown embedding backend"):
        get_embedder("word2vec")
    with pytest.raises(ValueError, match="unknown EmbeddingsConfig"):
        load_embeddings_config(overrides={"bakend": "dsp"})


@pytest.mark.parametrize(("sr", "n_fft", "fmin", "n_bands"), [(SR, 2048, 100.0, 6), (22050, 1024, 200.0, 4), (16000, 512, 50.0, 6)])
def test_octave_contrast_equals_librosa(sr: int, n_fft: int, fmin: float, n_bands: int) -> None:
    import librosa

    from dj_pipeline.audio.stft import stft
    from dj_pipeline.embeddings.dsp import octave_contrast_db

    y = four_on_floor(126.0, seed=3, dur_s=6.0) + ambient_pad(seed=4, dur_s=6.0)
    mag = np.abs(stft(librosa.resample(y, orig_sr=SR, target_sr=sr) if sr != SR else y, n_fft, n_fft // 4))
    ours = octave_contrast_db(mag, sr, n_fft, fmin, n_bands)
    theirs = librosa.feature.spectral_contrast(S=mag, sr=sr, n_fft=n_fft, fmin=fmin, n_bands=n_bands)
    assert ours.shape == theirs.shape and np.ptp(theirs) > 10.0
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="Nyquist"):
        octave_contrast_db(mag, sr, n_fft, sr / 8, n_bands)
