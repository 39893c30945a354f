"""Track structure (issue 16): bar/phrase grid, labelled sections and DJ cue points.

Pure functions over the streamed whole-track envelope (``dj_pipeline.windows.envelope``) and the
beat grid (today ``bpm`` + ``first_downbeat_s`` from ``track_features``; a tracked beat array when
one is given). See :mod:`dj_pipeline.structure.analyze`.
"""

from dj_pipeline.structure.analyze import TrackStructure, analyze_structure, structure_of_envelope
from dj_pipeline.structure.cues import CUE_TYPES, Cue
from dj_pipeline.structure.grid import BeatGrid, grid_from_beats, grid_from_tempo
from dj_pipeline.structure.rows import CUE_COLUMNS, SECTION_COLUMNS, STRUCTURE_COLUMNS, cue_rows, section_rows, structure_row
from dj_pipeline.structure.sections import LABELS, Section

__all__ = [
    "CUE_COLUMNS", "CUE_TYPES", "LABELS", "SECTION_COLUMNS", "STRUCTURE_COLUMNS", "BeatGrid", "Cue", "Section",
    "TrackStructure", "analyze_structure", "cue_rows", "grid_from_beats", "grid_from_tempo", "section_rows",
    "structure_of_envelope", "structure_row",
]  # fmt: skip
