"""Audio decoding, probing and content hashing."""

from dj_pipeline.audio.io import (
    AUDIO_EXTENSIONS,
    AudioDecodeError,
    AudioInfo,
    iter_blocks,
    load_audio,
    probe,
    resample,
    to_mono,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioDecodeError",
    "AudioInfo",
    "iter_blocks",
    "load_audio",
    "probe",
    "resample",
    "to_mono",
]
