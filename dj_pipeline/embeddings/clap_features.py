"""CLAP's log-mel input computed with torch on the model's device (GPU when there is one).

``ClapFeatureExtractor`` computes the mel spectrogram in NumPy on one CPU core (~20-90 ms per 10 s
chunk), which starves a GPU. :class:`TorchClapMel` reproduces it exactly for inputs no longer than
the model length (the only inputs this backend feeds it): the extractor's padding rule
(``repeatpad`` / ``repeat`` / ``pad``), a periodic Hann window, centred reflect-padded STFT, power
spectrum, the extractor's own mel filter matrix (Slaney filters for ``rand_trunc`` models, HTK
filters stacked 4x for fused models), and ``10 * log10(max(mel, 1e-10))``. The test suite checks
it against the processor's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MEL_FLOOR = 1e-10


class TorchClapMel:
    """``input_features`` of shape ``[b, 1 | 4, frames, n_mels]`` from chunks of at most the model length."""

    def __init__(self, feature_extractor: Any, truncation: str, device: str) -> None:
        import torch

        fe = feature_extractor
        self.max_samples = int(fe.nb_max_samples)
        self.n_fft = int(fe.fft_window_size)
        self.hop = int(fe.hop_length)
        self.padding = str(fe.padding)
        self.fusion = truncation == "fusion"
        filters = fe.mel_filters if self.fusion else fe.mel_filters_slaney
        self.device = device
        self.filters = torch.as_tensor(np.asarray(filters), dtype=torch.float32, device=device)
        self.window = torch.hann_window(self.n_fft, periodic=True, dtype=torch.float32, device=device)

    def pad(self, y: np.ndarray) -> np.ndarray:
        """The feature extractor's padding of a short chunk to the model length."""
        n = self.max_samples
        if y.size > n:
            raise ValueError(f"chunk of {y.size} samples is longer than the model input ({n})")
        if y.size < n:
            if self.padding == "repeat":
                y = np.tile(y, n // y.size + 1)[:n]
            elif self.padding == "repeatpad":
                y = np.tile(y, n // y.size)
            y = np.pad(y, (0, n - y.size))
        return y

    def __call__(self, chunks: Sequence[np.ndarray]) -> Any:
        import torch

        x = torch.from_numpy(np.stack([self.pad(np.asarray(c, dtype=np.float32)) for c in chunks])).to(self.device)
        spec = torch.stft(x, self.n_fft, hop_length=self.hop, window=self.window, center=True, pad_mode="reflect", return_complex=True)
        power = spec.real.square() + spec.imag.square()  # [b, freq, frames]
        mel = torch.einsum("bft,fm->btm", power, self.filters)
        log_mel = 10.0 * torch.log10(torch.clamp(mel, min=MEL_FLOOR))
        return log_mel.unsqueeze(1).expand(-1, 4, -1, -1) if self.fusion else log_mel.unsqueeze(1)
