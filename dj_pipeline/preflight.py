"""Check an ingest's configuration before any work starts, so a typo costs one line, not the library.

Before this check a ``dj ingest --profile banana`` scanned the library, recorded ``internal error:
ValueError: unknown sampling profile`` for every track, and the corrected rerun processed nothing.
Every packaged YAML file is loaded into its dataclass (a syntax error or an unknown option fails
here) and every option the run will use is resolved, before the data directory is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from dj_pipeline.errors import UserError


def _config_loaders() -> dict[str, Callable[[], Any]]:
    """``<name>.yaml`` -> ``dj_pipeline.config.<name>.load_<name>_config`` for every packaged YAML file.

    Found by name, so a configuration file added later is checked without touching this module.
    """
    import importlib

    from dj_pipeline.config import CONFIG_DIR

    loaders: dict[str, Callable[[], Any]] = {}
    for f in sorted(CONFIG_DIR.glob("*.yaml")):
        try:
            module = importlib.import_module(f"dj_pipeline.config.{f.stem}")
        except ImportError:
            continue
        load = getattr(module, f"load_{f.stem}_config", None)
        if callable(load):
            loaders[f.name] = load
    return loaders


def check_ingest_config(sampling_profile: str | None, embedding_backend: str, embedding_model: str | None) -> None:
    """Raise :class:`UserError` (one line) when a config file or an ingest option is unusable."""
    configs: dict[str, Any] = {}
    for name, load in _config_loaders().items():
        try:
            configs[name] = load()
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}" if where is not None else ""
            raise UserError(f"configuration file {name} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
        except (ValueError, TypeError, FileNotFoundError) as exc:
            raise UserError(f"configuration file {name}: {_first_line(exc)}") from None
    try:
        configs["windows.yaml"].profile(sampling_profile or None)
    except ValueError as exc:
        raise UserError(_first_line(exc)) from None
    from dj_pipeline.embeddings import resolve_backend

    try:
        resolve_backend(embedding_backend, embedding_model)
    except ValueError as exc:
        raise UserError(_first_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
