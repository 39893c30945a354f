"""musicnn backend: a pretrained music-tagging CNN (MSD or MagnaTagATune), run in PyTorch on the CPU.

The weights come from the ``musicnn`` pip wheel (ISC licence, Music Technology Group, Universitat
Pompeu Fabra; Pons & Serra 2019), which ships its checkpoints inside the package. That package pins
numpy < 1.17 and TensorFlow 1.x, so it is installed *without* its dependencies and never imported::

    pip install --no-deps musicnn==0.1.0

This backend only locates the package's folder (``importlib.util.find_spec``), reads the TF
checkpoint with :mod:`dj_pipeline.embeddings.tf_checkpoint` and loads it into the PyTorch rebuild
of the network (:mod:`dj_pipeline.embeddings.musicnn_net`). Nothing is downloaded at run time; a
checkpoint directory can also be given directly (``musicnn.checkpoint`` in ``embeddings.yaml``).

Per window: the log-compressed mel spectrogram musicnn was trained on (16 kHz, 512-point FFT, hop
256, 96 mel bands, ``log10(1 + 10000 * mel)``), cut into consecutive 3 s patches (187 frames; a
window shorter than one patch is repeat-padded, as musicnn's training did); every
``patch_stride``-th patch goes through the network (patches are spread evenly over the window, so
a stride of 2 halves the cost and still hears the whole window), and the chosen layer's outputs
are averaged over the patches. The stored vector is that average, L2-normalised; the library
standardiser (z-score) is applied at index time, as for ``dsp``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import librosa
import numpy as np

from dj_pipeline.config.embeddings import EmbeddingsConfig, MusicnnConfig, load_embeddings_config
from dj_pipeline.embeddings.base import BackendUnavailableError, EmbedderInfo, l2_normalize, prepare_windows

log = logging.getLogger(__name__)

MUSICNN_PACKAGE = "musicnn"
MUSICNN_VERSION = "musicnn-v1"
LAYER_DIMS = {"penultimate": 200, "mean_pool": 753, "max_pool": 753, "taggram": 50}
OPTIMIZER_VARIABLES = ("Adam", "beta1_power", "beta2_power")


def find_musicnn_checkpoint(checkpoint: str | os.PathLike) -> Path | None:
    """The directory of the checkpoint ``checkpoint`` (a directory, or a name inside the installed
    ``musicnn`` package such as ``MSD_musicnn``), or ``None``. Never imports the package."""
    p = Path(checkpoint).expanduser()
    if p.is_dir():
        return p.resolve() if (p / ".index").is_file() else None
    if p.is_absolute() or os.sep in str(checkpoint):
        return None
    try:
        spec = importlib.util.find_spec(MUSICNN_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        d = Path(root) / str(checkpoint)
        if (d / ".index").is_file():
            return d.resolve()
    return None


def missing_checkpoint_message(checkpoint: str) -> str:
    return (
        f"musicnn checkpoint {checkpoint!r} not found (looked for a directory and inside an installed 'musicnn' "
        f"package). Install the weights with `pip install --no-deps musicnn==0.1.0` (its own dependencies pin "
        f"TensorFlow 1 and numpy < 1.17 and are not needed), or use the 'dsp' (or 'auto') embedding backend."
    )


def musicnn_model_id(config: MusicnnConfig) -> str:
    """``musicnn-v1:<checkpoint>:<layer>:<hash>``: changes with any setting that shapes the vector."""
    blob = json.dumps({k: v for k, v in asdict(config).items() if k not in ("batch_patches", "threads")}, sort_keys=True)
    name = Path(str(config.checkpoint)).name or str(config.checkpoint)
    return f"{MUSICNN_VERSION}:{name}:{config.layer}:{hashlib.sha1(blob.encode()).hexdigest()[:8]}"


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


class MusicnnEmbedder:
    """Averaged musicnn layer activations per window (``backend="musicnn"``), L2-normalised float32."""

    backend = "musicnn"

    def __init__(self, config: EmbeddingsConfig | MusicnnConfig | None = None) -> None:
        cfg = config.musicnn if isinstance(config, EmbeddingsConfig) else (config or load_embeddings_config().musicnn)
        if cfg.layer not in LAYER_DIMS:
            raise ValueError(f"musicnn.layer must be one of {sorted(LAYER_DIMS)}, got {cfg.layer!r}")
        self.config = cfg
        self.checkpoint_dir = find_musicnn_checkpoint(cfg.checkpoint)
        if self.checkpoint_dir is None:
            raise BackendUnavailableError(missing_checkpoint_message(str(cfg.checkpoint)))
        if not torch_available():
            raise BackendUnavailableError("the musicnn backend needs torch (pip install -c constraints.txt torch)")
        self.sr = int(cfg.sr)
        self.dim = LAYER_DIMS[cfg.layer]
        self.model = musicnn_model_id(cfg)
        self._mel_basis = librosa.filters.mel(sr=self.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels).astype(np.float32)
        self._net = None  # loaded on first use (and again after unpickling in a worker process)

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(self.backend, self.model, self.dim, self.sr, "cpu")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_net"] = None  # worker processes load the weights themselves
        return state

    def net(self):  # noqa: ANN201 - a MusicnnNet (torch imported lazily)
        """The network with the checkpoint's weights (read once per process)."""
        if self._net is None:
            import torch

            from dj_pipeline.embeddings.musicnn_net import MusicnnNet, load_tf_weights
            from dj_pipeline.embeddings.tf_checkpoint import read_checkpoint

            if self.config.threads > 0:
                torch.set_num_threads(self.config.threads)
            variables = read_checkpoint(self.checkpoint_dir, skip_prefixes=OPTIMIZER_VARIABLES)
            n_classes = int(variables["dense_1/bias"].shape[0])
            self._net = load_tf_weights(MusicnnNet(n_classes=n_classes), variables)
            log.info("musicnn %s loaded from %s", self.model, self.checkpoint_dir)
        return self._net

    def log_mel(self, y: np.ndarray) -> np.ndarray:
        """``[frames, n_mels]`` log-compressed mel power spectrogram, as musicnn was trained on."""
        c = self.config
        spec = librosa.stft(y, n_fft=c.n_fft, hop_length=c.hop_length, center=True)
        mel = self._mel_basis @ (spec.real**2 + spec.imag**2)
        return np.log10(1.0 + c.log_gain * mel).T.astype(np.float32)

    def patches(self, y: np.ndarray) -> np.ndarray:
        """``[n, patch_frames, n_mels]``: the window's 3 s mel patches the network will see."""
        c = self.config
        mel = self.log_mel(y)
        n_frames = c.patch_frames
        if mel.shape[0] < n_frames:
            reps = int(np.ceil(n_frames / max(mel.shape[0], 1)))
            mel = np.tile(mel, (reps, 1))[:n_frames]
        n = mel.shape[0] // n_frames
        all_patches = mel[: n * n_frames].reshape(n, n_frames, -1)
        keep = max(1, int(np.ceil(n / max(c.patch_stride, 1))))
        pick = np.unique(np.round(np.linspace(0, n - 1, keep)).astype(int))  # spread over the window
        return all_patches[pick]

    def layer_outputs(self, windows: Sequence[np.ndarray], sr: int) -> dict[str, np.ndarray]:
        """Every pooled layer (``LAYER_DIMS``) per window, averaged over its patches (float32, unnormalised)."""
        import torch

        ys = prepare_windows(windows, sr, self.sr)
        per_window = [self.patches(y) for y in ys]
        owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(per_window)]) if ys else np.zeros(0, int)
        stacked = np.concatenate(per_window) if ys else np.zeros((0, self.config.patch_frames, self.config.n_mels), np.float32)
        net = self.net()
        outs: dict[str, list[np.ndarray]] = {k: [] for k in LAYER_DIMS}
        with torch.inference_mode():
            for start in range(0, len(stacked), self.config.batch_patches):
                res = net(torch.from_numpy(stacked[start : start + self.config.batch_patches]))
                for k in LAYER_DIMS:
                    outs[k].append(res[k].numpy())
        result: dict[str, np.ndarray] = {}
        for k, dim in LAYER_DIMS.items():
            flat = np.concatenate(outs[k]) if outs[k] else np.zeros((0, dim), np.float32)
            summed = np.zeros((len(ys), dim), dtype=np.float64)
            np.add.at(summed, owner, flat)
            counts = np.bincount(owner, minlength=len(ys)).astype(np.float64)
            result[k] = (summed / np.maximum(counts, 1)[:, None]).astype(np.float32)
        return result

    def embed(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """float32 ``[len(windows), dim]``: the configured layer averaged over each window's patches, L2-normalised."""
        if len(windows) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(self.layer_outputs(windows, sr)[self.config.layer])
