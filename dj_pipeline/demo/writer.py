"""Write generated audio with tags: WAV/FLAC/MP3 through soundfile (libsndfile).

Tags: libsndfile writes title/artist/album/genre into WAV (RIFF INFO), FLAC (Vorbis comments) and
MP3 (ID3); tinytag reads all three back. Two MP3 quirks, checked here: non-ASCII text comes back
mis-encoded (write MP3 tags in ASCII), and the genre goes through the ID3v1 genre list
("house" reads back as "House"), so genres are written in their ID3v1 spelling.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
TAG_FIELDS = ("title", "artist", "album", "genre")


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sr: int,
    fmt: str,
    tags: dict[str, str] | None = None,
    subtype: str | None = None,
    mp3_compression_level: float | None = None,
) -> Path:
    """Write ``audio`` (``(n,)`` mono or ``(channels, n)``) to ``path``; creates parent folders.

    Written to a temporary name and renamed, so a crash never leaves a half-written file behind.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r}; known: {', '.join(FORMATS)}")
    container, default_subtype = FORMATS[fmt]
    frames = np.ascontiguousarray(audio.T if audio.ndim == 2 else audio, dtype=np.float32)
    channels = 1 if frames.ndim == 1 else frames.shape[1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    kwargs = {}
    if fmt == "mp3" and mp3_compression_level is not None:
        kwargs["compression_level"] = float(mp3_compression_level)
    with sf.SoundFile(tmp, "w", int(sr), channels, subtype=subtype or default_subtype, format=container, **kwargs) as fh:
        for name, value in (tags or {}).items():
            if name not in TAG_FIELDS:
                raise ValueError(f"unsupported tag {name!r}; known: {', '.join(TAG_FIELDS)}")
            if value:
                setattr(fh, name, value)
        fh.write(frames)
    os.replace(tmp, path)
    return path
