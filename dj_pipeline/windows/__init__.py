"""Sampled windows per track: intro, outro, a main window and tails (see ``select.py`` for the rules)."""

from dj_pipeline.windows.read import merge_spans, read_windows
from dj_pipeline.windows.select import Window, choose_windows, seed_from_track_id, select_windows

__all__ = ["Window", "choose_windows", "merge_spans", "read_windows", "seed_from_track_id", "select_windows"]
