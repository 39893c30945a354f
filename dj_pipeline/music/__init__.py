"""Music-theory helpers shared by analysis and recommendation (keys, Camelot wheel)."""

from dj_pipeline.music.keys import (
    PITCH_CLASSES,
    camelot_code,
    camelot_distance,
    camelot_parse,
    key_name,
    open_key_code,
    parse_key,
)

__all__ = [
    "PITCH_CLASSES",
    "camelot_code",
    "camelot_distance",
    "camelot_parse",
    "key_name",
    "open_key_code",
    "parse_key",
]
