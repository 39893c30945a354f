"""``get_embedder``: the one entry point the pipeline, the CLI and the role assigner use.

``auto`` picks the best backend that can run here without a download: CLAP when its weights are on
disk (and torch/transformers are installed), else musicnn when its checkpoint is installed (and
torch is), else the offline DSP embedder, which needs nothing beyond the base install.
"""

from __future__ import annotations

import logging
import os

from dj_pipeline.config.embeddings import BACKEND_CHOICES, EmbeddingsConfig, load_embeddings_config
from dj_pipeline.embeddings.base import BackendUnavailableError, Embedder
from dj_pipeline.embeddings.clap import find_local_clap, missing_weights_message
from dj_pipeline.embeddings.dsp import DspEmbedder, dsp_model_id
from dj_pipeline.embeddings.musicnn import find_musicnn_checkpoint, musicnn_model_id, torch_available

log = logging.getLogger(__name__)


def musicnn_runs_here(config: EmbeddingsConfig) -> bool:
    """The musicnn checkpoint is installed and torch can run it."""
    return find_musicnn_checkpoint(config.musicnn.checkpoint) is not None and torch_available()


def resolve_backend(backend: str | None, model: str | os.PathLike | None = None, config: EmbeddingsConfig | None = None) -> str:
    """``dsp``, ``musicnn`` or ``clap`` for a requested backend (``auto``: see the module docstring)."""
    config = config or load_embeddings_config()
    req = (backend or config.backend).strip().lower()
    if req not in BACKEND_CHOICES:
        raise ValueError(f"unknown embedding backend {backend!r} (expected one of {', '.join(BACKEND_CHOICES)})")
    if req != "auto":
        return req
    ref = model or config.clap.model
    if find_local_clap(ref) is not None and _clap_libraries_available():
        log.info("embedding backend auto -> clap (%s)", ref)
        return "clap"
    if musicnn_runs_here(config):
        log.info("embedding backend auto -> musicnn (%s)", config.musicnn.checkpoint)
        return "musicnn"
    log.info("embedding backend auto -> dsp (no CLAP weights on disk for %s, no musicnn checkpoint installed)", ref)
    return "dsp"


def get_embedder(
    backend: str | None = "auto",
    model: str | os.PathLike | None = None,
    device: str | None = None,
    config: EmbeddingsConfig | None = None,
) -> Embedder:
    """An embedder with ``backend``, ``model``, ``dim``, ``sr``, ``info`` and ``embed(windows, sr)``.

    ``backend="clap"`` or ``"musicnn"`` raises :class:`BackendUnavailableError` with instructions
    when its weights are not on disk; ``"auto"`` falls back to ``dsp`` then (and logs the choice).
    ``model`` is a CLAP repo id or local directory (ignored by the other backends); ``device``
    overrides cuda > mps > cpu for CLAP.
    """
    config = config or load_embeddings_config()
    chosen = resolve_backend(backend, model, config)
    if chosen == "dsp":
        return DspEmbedder(config)
    if chosen == "musicnn":
        from dj_pipeline.embeddings.musicnn import MusicnnEmbedder

        return MusicnnEmbedder(config)
    if not _clap_libraries_available():
        raise BackendUnavailableError("the clap backend needs torch and transformers (pip install 'dj_pipeline[clap]')")
    ref = str(model or config.clap.model)
    if find_local_clap(ref) is None:
        raise BackendUnavailableError(missing_weights_message(ref))
    from dj_pipeline.embeddings.clap import ClapEmbedder

    return ClapEmbedder(ref, device=device or config.device or None, config=config)


def embedding_model_id(backend: str, config: EmbeddingsConfig | None = None) -> str | None:
    """The model id ``backend`` will store, where it is known without loading a model (dsp, musicnn);
    ``None`` for clap. Lets an ingest see that a setting change needs the library embedded again."""
    config = config or load_embeddings_config()
    if backend == "dsp":
        return dsp_model_id(config.dsp)
    if backend == "musicnn":
        return musicnn_model_id(config.musicnn)
    return None


def _clap_libraries_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None
