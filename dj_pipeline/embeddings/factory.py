"""``get_embedder``: the one entry point the pipeline, the CLI and the role assigner use."""

from __future__ import annotations

import logging
import os

from dj_pipeline.config.embeddings import EmbeddingsConfig, load_embeddings_config
from dj_pipeline.embeddings.base import BackendUnavailableError, Embedder
from dj_pipeline.embeddings.clap import find_local_clap, missing_weights_message
from dj_pipeline.embeddings.dsp import DspEmbedder

log = logging.getLogger(__name__)


def resolve_backend(backend: str | None, model: str | os.PathLike | None = None, config: EmbeddingsConfig | None = None) -> str:
    """``dsp`` or ``clap`` for a requested ``auto|dsp|clap`` (``auto``: clap iff its weights are on disk)."""
    config = config or load_embeddings_config()
    req = (backend or config.backend).strip().lower()
    if req not in ("auto", "dsp", "clap"):
        raise ValueError(f"unknown embedding backend {backend!r} (expected auto, dsp or clap)")
    if req != "auto":
        return req
    ref = model or config.clap.model
    if find_local_clap(ref) is None:
        log.info("embedding backend auto -> dsp (no CLAP weights on disk for %s)", ref)
        return "dsp"
    if not _torch_available():
        log.info("embedding backend auto -> dsp (CLAP weights found but torch/transformers are not installed)")
        return "dsp"
    log.info("embedding backend auto -> clap (%s)", ref)
    return "clap"


def get_embedder(
    backend: str | None = "auto",
    model: str | os.PathLike | None = None,
    device: str | None = None,
    config: EmbeddingsConfig | None = None,
) -> Embedder:
    """An embedder with ``backend``, ``model``, ``dim``, ``sr``, ``info`` and ``embed(windows, sr)``.

    ``backend="clap"`` raises :class:`BackendUnavailableError` with instructions when the weights
    are not on disk; ``"auto"`` falls back to ``dsp`` then (and logs the choice). ``model`` is a
    CLAP repo id or local directory (ignored by ``dsp``); ``device`` overrides cuda > mps > cpu.
    """
    config = config or load_embeddings_config()
    chosen = resolve_backend(backend, model, config)
    if chosen == "dsp":
        return DspEmbedder(config)
    if not _torch_available():
        raise BackendUnavailableError("the clap backend needs torch and transformers (pip install 'dj_pipeline[clap]')")
    ref = str(model or config.clap.model)
    if find_local_clap(ref) is None:
        raise BackendUnavailableError(missing_weights_message(ref))
    from dj_pipeline.embeddings.clap import ClapEmbedder

    return ClapEmbedder(ref, device=device or config.device or None, config=config)


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None
