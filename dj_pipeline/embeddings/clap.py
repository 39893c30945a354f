"""CLAP backend: transformers ``ClapModel`` + ``ClapProcessor``, loaded only from local files.

Long windows: CLAP takes 10 s of 48 kHz audio (480,000 samples). The unfused checkpoints take a
*random* 10 s crop of anything longer (``rand_trunc``) and the fused ones random crops too, so both
would give a different vector on every run. This backend therefore cuts each window into
consecutive 10 s chunks itself (a trailing chunk shorter than ``min_last_chunk_s`` is dropped unless
it is the only one; short chunks are repeat-padded by the feature extractor), embeds every chunk,
and averages the unit chunk vectors (then re-normalises). The chunks are never longer than the model
input, so no random crop happens; for fused models ``is_longer`` is forced to False, which disables
the processor's random "fusion" pick. Result: deterministic vectors covering the whole window.

Chunks of all windows in one ``embed`` call are batched together under ``torch.inference_mode``;
fp16 on GPU (per ``embeddings.yaml``); the batch size halves on out-of-memory and stays halved.
The log-mel input is computed with torch on the model's device (``clap_features.TorchClapMel``,
identical to the processor's NumPy mel, which would otherwise bottleneck a GPU); set
``clap.features: processor`` to use ``ClapProcessor``'s feature extractor instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dj_pipeline.config.embeddings import ClapConfig, EmbeddingsConfig, load_embeddings_config
from dj_pipeline.embeddings.base import BackendUnavailableError, EmbedderInfo, EmbeddingError, l2_normalize, prepare_windows
from dj_pipeline.embeddings.clap_features import TorchClapMel
from dj_pipeline.embeddings.device import select_device

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


def _has_weights(directory: Path) -> bool:
    return (directory / "config.json").is_file() and any((directory / f).is_file() for f in WEIGHT_FILES)


def find_local_clap(model_id_or_path: str | os.PathLike | None = None) -> Path | None:
    """The local directory holding the CLAP model's config and weights, or ``None``.

    ``model_id_or_path`` is a directory or a Hugging Face repo id (default: ``clap.model`` of
    ``embeddings.yaml``). Repo ids are looked up in the local HF cache with
    ``local_files_only=True``: this never touches the network.
    """
    ref = str(model_id_or_path or load_embeddings_config().clap.model)
    p = Path(ref).expanduser()
    if p.is_dir():
        return p.resolve() if _has_weights(p) else None
    if p.is_absolute() or ref.startswith("."):
        return None
    try:
        from huggingface_hub import snapshot_download

        snap = Path(snapshot_download(ref, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached, bad id, hub lib missing: all mean "not on disk"
        return None
    return snap if _has_weights(snap) else None


def missing_weights_message(model: str) -> str:
    return (
        f"CLAP weights for {model!r} are not on disk (checked it as a local directory and in the Hugging Face "
        f"cache with local_files_only=True; this pipeline never downloads). Copy the model directory here and "
        f"pass its path, or run `huggingface-cli download {model}` on a connected machine; otherwise use the "
        f"'dsp' (or 'auto') embedding backend."
    )


class ClapEmbedder:
    """CLAP audio and text embeddings (``backend="clap"``), L2-normalised float32."""

    backend = "clap"

    def __init__(self, model: str | os.PathLike | None = None, device: str | None = None, config: EmbeddingsConfig | ClapConfig | None = None) -> None:
        cfg = config if isinstance(config, ClapConfig) else (config or load_embeddings_config()).clap
        self.config = cfg
        ref = str(model or cfg.model)
        local = find_local_clap(ref)
        if local is None:
            raise BackendUnavailableError(missing_weights_message(ref))
        import torch
        from transformers import ClapModel, ClapProcessor

        if cfg.cpu_threads > 0:
            torch.set_num_threads(cfg.cpu_threads)
        self.device = select_device(device)
        kind = self.device.split(":")[0]
        self.dtype = getattr(torch, cfg.dtype.get(kind, "float32"))
        self.processor = ClapProcessor.from_pretrained(str(local), local_files_only=True)
        self.model_obj = ClapModel.from_pretrained(str(local), local_files_only=True).to(self.device, dtype=self.dtype).eval()
        self.model = ref if not Path(ref).expanduser().is_dir() else str(local)
        self.sr = int(self.processor.feature_extractor.sampling_rate)
        if self.sr != cfg.sr:
            log.warning("CLAP model %s expects %d Hz, config says %d Hz: using the model's rate", self.model, self.sr, cfg.sr)
        self.dim = int(self.model_obj.config.projection_dim)
        self.chunk_samples = int(round(cfg.chunk_s * self.sr))
        self.batch_size = int(cfg.batch_size.get(kind, 8))
        # The mel layout must match the model (4 stacked mels for fused models, 1 otherwise),
        # whatever the saved preprocessor config says.
        self.truncation = "fusion" if getattr(self.model_obj.config.audio_config, "enable_fusion", False) else "rand_trunc"
        self.torch_mel = TorchClapMel(self.processor.feature_extractor, self.truncation, self.device) if cfg.features == "torch" else None
        log.info("CLAP %s on %s (%s), dim %d", self.model, self.device, str(self.dtype).replace("torch.", ""), self.dim)

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(self.backend, self.model, self.dim, self.sr, self.device)

    # ----------------------------------------------------------------------------------------
    def chunk(self, y: np.ndarray) -> list[np.ndarray]:
        """Consecutive model-length chunks of one window (see the module docstring for the rule)."""
        n = self.chunk_samples
        chunks = [y[i : i + n] for i in range(0, y.size, n)]
        min_last = int(round(self.config.min_last_chunk_s * self.sr))
        if len(chunks) > 1 and chunks[-1].size < min_last:
            chunks.pop()
        return chunks

    def embed(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """float32 ``[len(windows), dim]``: each window's chunk vectors averaged and L2-normalised.

        Public for the drum-role assigner too: one-shots are single short chunks (repeat-padded).
        """
        ys = prepare_windows(windows, sr, self.sr)
        if not ys:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks: list[np.ndarray] = []
        owner: list[int] = []
        for i, y in enumerate(ys):
            for c in self.chunk(y):
                chunks.append(c)
                owner.append(i)
        vecs = self._embed_chunks(chunks)
        owner_arr = np.asarray(owner)
        out = np.zeros((len(ys), self.dim), dtype=np.float32)
        np.add.at(out, owner_arr, vecs)
        return l2_normalize(out)

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """float32 ``[len(texts), dim]`` from the CLAP text tower, L2-normalised (same space as audio)."""
        import torch

        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if any(not t.strip() for t in texts):
            raise EmbeddingError("text queries must be non-empty")
        tok = self.processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        tok = {k: v.to(self.device) for k, v in tok.items()}
        with torch.inference_mode():
            out = self.model_obj.get_text_features(**tok).pooler_output
        return self._finite(l2_normalize(out.float().cpu().numpy()), "text")

    # ----------------------------------------------------------------------------------------
    def _features(self, chunks: list[np.ndarray]) -> dict[str, Any]:
        """Model inputs for chunks (torch mel on the device, or the processor's NumPy mel)."""
        import torch

        if self.torch_mel is not None:
            mel = self.torch_mel(chunks)
            return {"input_features": mel, "is_longer": torch.zeros((len(chunks), 1), dtype=torch.bool)}
        feats = self.processor.feature_extractor(chunks, sampling_rate=self.sr, truncation=self.truncation, return_tensors="pt")
        feats["is_longer"] = torch.zeros_like(feats["is_longer"])  # no chunk is longer: no random fusion pick
        return feats

    def _embed_chunks(self, chunks: list[np.ndarray]) -> np.ndarray:
        import torch

        out: list[np.ndarray] = []
        start = 0
        while start < len(chunks):
            batch = chunks[start : start + self.batch_size]
            try:
                feats = self._features(batch)
                with torch.inference_mode():
                    emb = self.model_obj.get_audio_features(
                        input_features=feats["input_features"].to(self.device, dtype=self.dtype),
                        is_longer=feats["is_longer"].to(self.device),
                    ).pooler_output
            except torch.OutOfMemoryError:
                if self.batch_size == 1:
                    raise
                self.batch_size = max(1, self.batch_size // 2)
                log.warning("CLAP out of memory on %s: batch size now %d", self.device, self.batch_size)
                if self.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                continue
            out.append(emb.float().cpu().numpy())
            start += len(batch)
        return self._finite(np.concatenate(out).astype(np.float32), "audio")

    def _finite(self, vecs: np.ndarray, what: str) -> np.ndarray:
        if not np.isfinite(vecs).all():
            raise EmbeddingError(f"CLAP produced non-finite {what} vectors on {self.device} ({self.dtype}); try dtype float32")
        return vecs
