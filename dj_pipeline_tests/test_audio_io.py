"""Decoding: soundfile formats, M4A through PyAV, seeking, resampling, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.audio import AudioDecodeError, load_audio, probe

SR = 44100


def _sine(seconds: float, freq: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_m4a(path: Path, y: np.ndarray, sr: int = SR) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sr)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(y[None, :], format="fltp", layout="mono")
        frame.sample_rate = sr
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_seek_and_resample(tmp_path: Path, fmt: str) -> None:
    y = np.concatenate([_sine(3.0, 220.0), _sine(3.0, 880.0)])  # the pitch changes at 3 s
    path = tmp_path / f"x.{fmt}"
    sf.write(path, y, SR)
    info = probe(path)
    assert (info.sample_rate, info.channels, info.format) == (SR, 1, fmt)
    assert info.duration_s == pytest.approx(6.0, abs=0.06)
    seg, sr = load_audio(path, sr=22050, offset_s=4.0, duration_s=1.0)
    assert sr == 22050 and seg.dtype == np.float32 and seg.size == pytest.approx(22050, abs=1200)
    spectrum = np.abs(np.fft.rfft(seg[:16384]))
    assert np.fft.rfftfreq(16384, 1 / 22050)[spectrum.argmax()] == pytest.approx(880.0, abs=5.0)


def test_m4a_goes_through_pyav(tmp_path: Path) -> None:
    path = write_m4a(tmp_path / "x.m4a", _sine(6.0))
    info = probe(path)
    assert info.format == "m4a" and info.duration_s == pytest.approx(6.0, abs=0.1)
    seg, _ = load_audio(path, sr=22050, offset_s=1.0, duration_s=2.0)
    assert seg.size == 44100 and 0.25 < np.abs(seg).max() < 0.4


def test_stereo_is_averaged_unless_asked(tmp_path: Path) -> None:
    left, right = _sine(2.0), np.zeros(2 * SR, np.float32)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), SR)
    mono, _ = load_audio(tmp_path / "s.wav")
    both, _ = load_audio(tmp_path / "s.wav", mono=False)
    assert both.shape == (2, 2 * SR) and np.allclose(mono, left / 2, atol=1e-4)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("hello, not audio"), "not a readable audio file"),
        (lambda p: p.mkdir(), "directory"),
    ],
)
def test_bad_files_raise_a_readable_reason(tmp_path: Path, make, reason: str) -> None:  # noqa: ANN001
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioDecodeError, match=reason):
        probe(path)


def test_truncated_wav_is_detected(tmp_path: Path) -> None:
    sf.write(tmp_path / "full.wav", _sine(6.0), SR)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match="truncated"):
        probe(tmp_path / "cut.wav")


def test_to_mono_averages_the_channels_of_a_transposed_buffer() -> None:
    from dj_pipeline.audio.io import to_mono

    frames = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, -5.0]], dtype=np.float32)  # soundfile: (n, channels)
    mono = to_mono(frames.T)
    assert mono.dtype == np.float32 and mono.tolist() == [2.0, 3.0, -1.0]
    assert to_mono(np.array([0.5, 0.25])).tolist() == [0.5, 0.25]  # mono stays as it is
    surround = np.random.default_rng(0).standard_normal((1000, 5)).astype(np.float32)
    np.testing.assert_allclose(to_mono(surround.T), surround.mean(axis=1), rtol=0, atol=1e-6)
    assert not np.shares_memory(to_mono(surround[:, :1].T), surround)  # one channel: a copy, never a view
