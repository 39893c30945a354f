"""Short-time Fourier transform: librosa's framing, about twice its speed on our window sizes.

``librosa.stft`` frames the signal as columns and transforms along the strided axis; here each frame
is a contiguous row of a sliding-window view (no copy until the window is applied), transformed by
SciPy's real FFT in blocks of rows, so the temporary memory stays bounded whatever the signal
length. Same conventions as ``librosa.stft`` with its defaults: frames centred on ``t *
hop_length`` with zero padding (``center=True``), a periodic Hann window, shape ``(1 + n_fft // 2,
frames)``, complex64 for float32 input. Values agree with librosa's to float rounding (~1e-7
relative); the result is a transposed view of a C-ordered ``(frames, bins)`` array.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

BLOCK_SAMPLES = 1 << 18  # frames x n_fft samples windowed and transformed at a time: 1 MB of float32, which stays
# in a core's L2 cache between the windowing and the FFT (8 MB blocks were 15-30 % slower)


@lru_cache(maxsize=16)
def periodic_hann(n_fft: int, dtype: str = "float32") -> np.ndarray:
    """The periodic ("FFT") Hann window of ``n_fft`` samples, as librosa's ``get_window("hann")``
    (the same float32 values; computed here so that importing this module stays light)."""
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(dtype)
    window.flags.writeable = False
    return window


def stft(y: np.ndarray, n_fft: int, hop_length: int, window: np.ndarray | None = None, center: bool = True) -> np.ndarray:
    """Complex spectrogram ``(1 + n_fft // 2, frames)`` of mono ``y``.

    ``window``: ``n_fft`` samples (default: periodic Hann). ``center=False`` starts the first frame
    at sample 0 and needs ``len(y) >= n_fft``.
    """
    y = np.asarray(y)
    dtype = np.float64 if y.dtype == np.float64 else np.float32
    y = y.astype(dtype, copy=False)
    if center:
        y = np.pad(y, n_fft // 2)
    if y.size < n_fft:
        raise ValueError(f"signal of {y.size} samples is shorter than n_fft={n_fft}")
    w = periodic_hann(n_fft, np.dtype(dtype).name) if window is None else np.asarray(window, dtype=dtype)
    frames = sliding_window_view(y, n_fft)[::hop_length]
    out = np.empty((frames.shape[0], 1 + n_fft // 2), dtype=np.complex128 if dtype == np.float64 else np.complex64)
    rows = max(1, BLOCK_SAMPLES // n_fft)
    for a in range(0, frames.shape[0], rows):
        out[a : a + rows] = scipy.fft.rfft(frames[a : a + rows] * w, axis=1)
    return out.T


@lru_cache(maxsize=8)
def mel_basis(sr: int, n_fft: int, n_mels: int, fmin_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Cached mel filterbank (float32, librosa's: Slaney scale and norm, up to Nyquist) and its band
    centre frequencies (Hz)."""
    import librosa  # noqa: PLC0415 - at first use: importing this module stays light

    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin_hz, fmax=sr / 2.0)
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin_hz, fmax=sr / 2.0)[1:-1]
    return fb.astype(np.float32), centres
