"""The project's STFT (audio/stft.py) is librosa.stft to float rounding: same frames, window,
padding and shape, for the sizes the analysis uses and for edge lengths."""

import librosa
import numpy as np
import pytest

from dj_pipeline.audio.stft import stft

pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*is too large")  # librosa warns about its own short inputs


@pytest.mark.parametrize("n_fft,hop", [(2048, 256), (512, 256), (512, 128), (2048, 512), (8192, 2048)])
@pytest.mark.parametrize("n_samples", [11025 * 7 + 13, 3000, 700])
def test_equals_librosa(n_fft, hop, n_samples):
    y = np.random.default_rng(n_samples).standard_normal(n_samples).astype(np.float32)
    want = librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True)
    got = stft(y, n_fft, hop)
    assert got.shape == want.shape and got.dtype == want.dtype == np.complex64
    assert np.abs(got - want).max() <= 2e-6 * np.abs(want).max()
    if n_samples >= n_fft:
        plain = librosa.stft(y, n_fft=n_fft, hop_length=hop, center=False)
        assert np.allclose(stft(y, n_fft, hop, center=False), plain, atol=2e-6 * np.abs(plain).max())


def test_given_window_float64_and_too_short():
    y = np.sin(np.arange(20000) * 0.05)
    window = np.hanning(1025)[:-1]
    want = librosa.stft(y, n_fft=1024, hop_length=300, window=window)
    got = stft(y, 1024, 300, window=window)
    assert got.dtype == np.complex128 and np.allclose(got, want, atol=1e-9 * np.abs(want).max())
    assert np.argmax(np.abs(got[:, 10])) == round(0.05 / (2 * np.pi) * 1024)  # the sine's bin
    with pytest.raises(ValueError):
        stft(np.zeros(100, np.float32), 512, 128, center=False)
