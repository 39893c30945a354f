"""Decode audio files into float32 numpy arrays: probe, seek-and-read spans, stream in blocks.

Two decoders, no external binaries: ``soundfile`` (libsndfile: WAV, AIFF, FLAC, OGG, MP3) first,
PyAV (bundled FFmpeg libraries: M4A/AAC/ALAC and anything libsndfile refuses) second. librosa's
audioread fallback is deliberately not used (deprecated, needs an ffmpeg binary on PATH).

Every failure is raised as :class:`AudioDecodeError` with a one-line, human-readable reason, so
callers can record it in ``ingest_errors`` and carry on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".aif", ".aiff", ".m4a", ".mp4", ".aac", ".alac"}
)
_PYAV_FIRST = frozenset({".m4a", ".mp4", ".aac", ".alac"})
# A file whose decoded length falls short of its header by more than this is called truncated.
TRUNCATION_TOLERANCE_S = 0.5


class AudioDecodeError(Exception):
    """A file could not be decoded; ``str(err)`` is the reason to show a user."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, without decoding the audio."""

    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str = ""


def probe(path: str | os.PathLike) -> AudioInfo:
    """Read duration, sample rate, channel count and container format from a file's header."""
    path = Path(path)
    _check_file(path)
    _check_container_size(path)
    ext = path.suffix.lower()
    if ext not in _PYAV_FIRST:
        try:
            with _quiet_native_stderr(ext == ".mp3"):
                info = sf.info(str(path))
            if info.frames > 0 and info.samplerate > 0:
                return AudioInfo(
                    duration_s=info.frames / info.samplerate,
                    sample_rate=int(info.samplerate),
                    channels=int(info.channels),
                    frames=int(info.frames),
                    format=_format_name(path, info.format),
                    subtype=str(info.subtype),
                )
        except (sf.LibsndfileError, RuntimeError, ValueError):
            pass
    return _probe_pyav(path)


def load_audio(
    path: str | os.PathLike,
    sr: int | None = None,
    mono: bool = True,
    offset_s: float = 0.0,
    duration_s: float | None = None,
) -> tuple[np.ndarray, int]:
    """Decode ``[offset_s, offset_s + duration_s)`` of a file, seeking rather than reading all.

    Returns ``(y, sr)`` with ``y`` float32, shape ``(n,)`` when ``mono`` else ``(channels, n)``,
    resampled to ``sr`` when given (soxr, high quality). Raises :class:`AudioDecodeError` when the
    file cannot be decoded or is shorter than its header claims (truncated).
    """
    y, native_sr = decode_span(path, offset_s, duration_s, mono)
    if sr is not None and sr != native_sr:
        return resample(y, native_sr, sr), int(sr)
    return y, native_sr


def decode_span(
    path: str | os.PathLike, offset_s: float = 0.0, duration_s: float | None = None, mono: bool = True
) -> tuple[np.ndarray, int]:
    """:func:`load_audio` at the file's own rate: ``(y, native_sr)``, non-finite samples zeroed.

    ``load_audio(path, sr, ...)`` is exactly ``resample(decode_span(path, ...), native_sr, sr)``, so a
    caller that needs one span at several rates decodes it once.
    """
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _PYAV_FIRST:
        y, native_sr = _read_pyav(path, offset_s, duration_s)
    else:
        try:
            y, native_sr = _read_soundfile(path, offset_s, duration_s)
        except AudioDecodeError:
            raise
        except (sf.LibsndfileError, RuntimeError, ValueError):
            y, native_sr = _read_pyav(path, offset_s, duration_s)
    if y.size == 0:
        raise AudioDecodeError("no audio frames could be decoded")
    if not np.all(np.isfinite(y)):
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    return (to_mono(y) if mono else y), int(native_sr)


def iter_blocks(
    path: str | os.PathLike, sr: int, block_s: float = 30.0
) -> Iterator[tuple[float, np.ndarray]]:
    """Stream a whole file as mono blocks at ``sr``: yields ``(start_s, block)``.

    Memory stays bounded by ``block_s`` whatever the track length (a 2-hour mix is never held
    in memory at once). Blocks are resampled independently; the seams are inaudible to the
    envelope-level statistics this is used for. Inside an ingest's
    :func:`~dj_pipeline.audio.decode_cache.decode_cache` a file is decoded by its first pass only.
    """
    from dj_pipeline.audio.decode_cache import active_cache

    cache = active_cache(sr)
    if cache is not None:
        yield from cache.blocks(path, block_s, _decode_blocks)
    else:
        yield from _decode_blocks(path, sr, block_s)


def _decode_blocks(path: str | os.PathLike, sr: int, block_s: float) -> Iterator[tuple[float, np.ndarray]]:
    info = probe(path)
    start = 0.0
    while start < info.duration_s - 1e-6:
        dur = min(block_s, info.duration_s - start)
        y, _ = load_audio(path, sr=sr, mono=True, offset_s=start, duration_s=dur)
        yield start, y
        start += block_s


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average channels: ``(channels, n) -> (n,)``; mono input is returned unchanged."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    # a row-by-row sum into one buffer: ``y.mean(axis=0)`` over soundfile's transposed (n, channels)
    # buffer is ~10x slower, and a new array per step twice as slow; the sum order is fixed (0, 1, ...)
    out = y[0] + y[1] if y.shape[0] > 1 else y[0].copy()
    for i in range(2, y.shape[0]):
        out += y[i]
    out *= np.float32(1.0 / y.shape[0])
    return out


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis with soxr (high quality); float32 out."""
    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32)
    return np.stack([soxr.resample(ch, orig_sr, target_sr, quality="HQ") for ch in y]).astype(np.float32)


# --------------------------------------------------------------------------------------------
def _check_file(path: Path) -> None:
    if path.is_dir():
        raise AudioDecodeError("is a directory, not an audio file")
    if not path.exists():
        raise AudioDecodeError("file does not exist")
    if path.stat().st_size == 0:
        raise AudioDecodeError("empty file (0 bytes)")


def _check_container_size(path: Path) -> None:
    """RIFF (WAV) and FORM (AIFF) headers state the file size; a shorter file was cut off.

    libsndfile quietly reads what is there, so without this check a half-copied WAV would be
    analysed as a shorter track.
    """
    with path.open("rb") as fh:
        head = fh.read(12)
    if len(head) < 12:
        if head[:4] in (b"RIFF", b"FORM"):
            raise AudioDecodeError("truncated: header is incomplete")
        return
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        declared = int.from_bytes(head[4:8], "little") + 8
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        declared = int.from_bytes(head[4:8], "big") + 8
    else:
        return
    actual = path.stat().st_size
    if declared != 0xFFFFFFFF + 8 and actual < declared - 1:  # 0xFFFFFFFF: streamed, size unknown
        raise AudioDecodeError(f"truncated: file has {actual} of the {declared} bytes its header announces")


def _format_name(path: Path, sf_format: str) -> str:
    ext = path.suffix.lower().lstrip(".")
    return {"wave": "wav", "aif": "aiff", "oga": "ogg"}.get(ext, ext) or str(sf_format).lower()


@contextmanager
def _quiet_native_stderr(enabled: bool) -> Iterator[None]:
    """Silence C-level stderr (file descriptor 2) for the duration, when ``enabled``.

    mpg123 inside libsndfile prints "part2_3_length ... too large" for the first frame after every
    seek into an MP3 (its bit reservoir points before the seek position), and "id3 ... No extra
    frame text" for odd tags of many real files, by the hundred on a library. The frame is decoded
    as silence, which the window reader tolerates; the messages are only noise on the DJ's terminal
    (a real failure still raises, and lands in ``ingest_errors``).
    """
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some notebook/embedded setups)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _read_soundfile(path: Path, offset_s: float, duration_s: float | None) -> tuple[np.ndarray, int]:
    # mpg123 prints id3 and seek noise while a file is opened and read: quiet for both (issue 15)
    with _quiet_native_stderr(path.suffix.lower() == ".mp3"), sf.SoundFile(str(path)) as f:
        native_sr = int(f.samplerate)
        start = max(0, int(round(offset_s * native_sr)))
        if start >= f.frames:
            raise AudioDecodeError(f"offset {offset_s:.1f}s is past the end ({f.frames / native_sr:.1f}s)")
        want = f.frames - start if duration_s is None else min(int(round(duration_s * native_sr)), f.frames - start)
        if start:
            f.seek(start)
        data = f.read(want, dtype="float32", always_2d=True)
    got = data.shape[0]
    if want - got > TRUNCATION_TOLERANCE_S * native_sr:
        raise AudioDecodeError(
            f"truncated: decoded {(start + got) / native_sr:.1f}s of the {(start + want) / native_sr:.1f}s "
            "the header announces"
        )
    return data.T, native_sr


def _probe_pyav(path: Path) -> AudioInfo:
    av = _import_av()
    try:
        with av.open(str(path)) as container:
            st = _first_audio_stream(container)
            sr = int(st.codec_context.sample_rate or st.rate or 0)
            channels = int(st.codec_context.channels or 0) if hasattr(st.codec_context, "channels") else 0
            if not channels:
                channels = len(st.codec_context.layout.channels)
            if st.duration is not None and st.time_base is not None:
                duration = float(st.duration * st.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            if sr <= 0 or duration <= 0:
                raise AudioDecodeError("could not read duration/sample rate from the header")
            return AudioInfo(duration, sr, channels, int(round(duration * sr)), _format_name(path, container.format.name), st.codec_context.name)
    except AudioDecodeError:
        raise
    except Exception as exc:  # PyAV raises many FFmpeg error types
        raise AudioDecodeError(f"not a readable audio file ({_short(exc)})") from None


def _read_pyav(path: Path, offset_s: float, duration_s: float | None) -> tuple[np.ndarray, int]:
    av = _import_av()
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            st = _first_audio_stream(container)
            sr = int(st.codec_context.sample_rate)
            if offset_s > 0:
                container.seek(int(offset_s * 1_000_000), any_frame=False, backward=True)
            end_s = None if duration_s is None else offset_s + duration_s
            for frame in container.decode(st):
                arr = frame.to_ndarray()
                if arr.dtype.kind in "iu":
                    arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
                arr = arr.astype(np.float32)
                if frame.format.is_planar is False:
                    arr = arr.reshape(-1, len(frame.layout.channels)).T
                t0 = float(frame.pts * frame.time_base) if frame.pts is not None else None
                if t0 is not None:
                    if t0 + arr.shape[1] / sr <= offset_s:
                        continue
                    if t0 < offset_s:
                        arr = arr[:, int((offset_s - t0) * sr):]
                chunks.append(arr)
                if end_s is not None and t0 is not None and t0 + frame.samples / sr >= end_s:
                    break
    except AudioDecodeError:
        raise
    except Exception as exc:
        raise AudioDecodeError(f"could not decode audio ({_short(exc)})") from None
    if not chunks:
        raise AudioDecodeError("no audio frames could be decoded")
    y = np.concatenate(chunks, axis=1)
    if duration_s is not None:
        y = y[:, : int(round(duration_s * sr))]
    return y, sr


def _first_audio_stream(container):  # noqa: ANN001, ANN202 - PyAV container and stream
    streams = [s for s in container.streams if s.type == "audio"]
    if not streams:
        raise AudioDecodeError("no audio stream in the file")
    return streams[0]


def _import_av():
    try:
        import av  # noqa: PLC0415 - optional heavy import, only for formats libsndfile refuses
    except ImportError as exc:  # pragma: no cover - av is a declared dependency
        raise AudioDecodeError("this format needs PyAV (pip install av)") from exc
    return av


def _short(exc: BaseException) -> str:
    """A decoder error as words: FFmpeg's ``[Errno 1094995529] Invalid data found ...: '<path>'`` reads
    ``Invalid data found when processing input`` (the path is already in the error row)."""
    words = getattr(exc, "strerror", None)
    msg = str(words) if words else str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg[:160]
