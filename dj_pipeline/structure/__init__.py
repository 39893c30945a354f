"""Track structure (issue 16): bar/phrase grid, labelled sections and DJ cue points.

Pure functions over the streamed whole-track envelope (``dj_pipeline.windows.envelope``) and the
beat grid (the tracked beats of ``track_beats`` when there are any, else ``bpm`` +
``first_downbeat_s``). See :mod:`dj_pipeline.structure.analyze`.

Names are imported on first use (PEP 562), so the recommender can import
``dj_pipeline.structure.mix`` without pulling in the envelope pass (SciPy, librosa): ``dj
recommend`` by track id stays light.
"""

from importlib import import_module
from typing import Any

_LAZY = {
    "TrackStructure": "analyze", "analyze_structure": "analyze", "structure_of_envelope": "analyze",
    "CUE_TYPES": "cues", "Cue": "cues",
    "BeatGrid": "grid", "grid_from_beats": "grid", "grid_from_tempo": "grid",
    "CUE_COLUMNS": "rows", "SECTION_COLUMNS": "rows", "STRUCTURE_COLUMNS": "rows",
    "cue_rows": "rows", "section_rows": "rows", "structure_row": "rows",
    "LABELS": "sections", "Section": "sections",
}  # fmt: skip

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"dj_pipeline.structure.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'dj_pipeline.structure' has no attribute {name!r}")
