"""All tunable parameters live here: YAML files beside this module, loaded into typed dataclasses.

Each domain has one YAML file (``profiles.yaml``, ``analysis.yaml``, ``embeddings.yaml``,
``roles.yaml``, ``recommend.yaml`` ...) and one dataclass module in this package. Code never
scatters magic numbers: it takes a config object, whose defaults come from the YAML file.

``load_yaml(name)`` reads a packaged file; ``load_yaml(name, path=...)`` reads a user's copy
(e.g. a ``roles.yaml`` passed on the command line), and ``merge`` applies overrides.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

CONFIG_DIR = Path(__file__).resolve().parent
T = TypeVar("T")


def load_yaml(name: str, path: str | Path | None = None) -> dict[str, Any]:
    """Load ``<name>.yaml`` from this package, or from ``path`` when given.

    Parsed files are kept (keyed by path, size and mtime, so an edited file is read again) and a
    copy is returned: per-track code may load its config freely (a parse costs ~50 ms).
    """
    p = Path(path) if path is not None else CONFIG_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    try:
        st = p.stat()
    except OSError:
        raise FileNotFoundError(f"config file not found: {p}") from None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _PARSED:
        with p.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{p}: expected a mapping at the top level")
        _PARSED[key] = data
    return copy.deepcopy(_PARSED[key])


_PARSED: dict[tuple[str, int, int], dict[str, Any]] = {}


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base`` (nested mappings merge, others replace)."""
    out = copy.deepcopy(dict(base))
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build dataclass ``cls`` from a mapping, recursing into nested dataclass fields.

    Unknown keys raise ``ValueError`` so a typo in a YAML file is caught, not ignored.
    """
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} option(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    hints = _resolved_hints(cls)
    for name, value in data.items():
        ftype = hints.get(name)
        if is_dataclass(ftype) and isinstance(value, Mapping):
            kwargs[name] = from_dict(ftype, value)  # type: ignore[arg-type]
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _resolved_hints(cls: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - forward refs that cannot resolve
        return {}
