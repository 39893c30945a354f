"""Torch device choice for learned backends: cuda > mps > cpu unless the caller says otherwise."""

from __future__ import annotations


def select_device(requested: str | None = None) -> str:
    """``requested`` when given and usable, else the best available; torch is imported lazily.

    Asking for a device that is not available raises ``ValueError`` rather than silently
    falling back, so a misconfigured GPU run is noticed.
    """
    import torch

    req = (requested or "").strip().lower()
    if req in ("", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if req.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} requested but CUDA is not available")
    if req == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' requested but MPS is not available")
    if not (req == "cpu" or req == "mps" or req.startswith("cuda")):
        raise ValueError(f"unknown device {requested!r} (expected auto, cpu, mps, cuda or cuda:N)")
    return req
