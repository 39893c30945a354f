"""Deterministic synthetic music library: the product demo and the fixture for tests and benchmarks.

``generate_library`` writes tracks (WAV/FLAC/MP3, mono/stereo, 22.05-48 kHz) with exact tempo, key
and energy truth, drum one-shots with role truth, and ``write_bad_files`` writes broken inputs for
ingest error tests. All musical parameters live in ``dj_pipeline/config/demo.yaml``.
"""

from dj_pipeline.demo.bad_files import write_bad_files
from dj_pipeline.demo.library import TRUTH_COLUMNS, TrackPlan, generate_library, plan_library
from dj_pipeline.demo.oneshots import generate_oneshots
from dj_pipeline.demo.track import RenderedTrack, TrackSpec, default_config, generate_track, render_track

STYLES: tuple[str, ...] = tuple(default_config().styles)

__all__ = [
    "STYLES",
    "RenderedTrack",
    "TrackSpec",
    "TRUTH_COLUMNS",
    "TrackPlan",
    "generate_library",
    "generate_oneshots",
    "generate_track",
    "plan_library",
    "render_track",
    "write_bad_files",
]
