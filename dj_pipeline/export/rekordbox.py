"""Rekordbox XML (``DJ_PLAYLISTS``) of the analysed library: BPM, key, beat grid, cues, playlists.

Import in Rekordbox via *Preferences > Advanced > rekordbox xml*. ``Location`` is built here
(``file://localhost/`` + the percent-encoded absolute path) because pyrekordbox doubles the slash
on POSIX paths. ``Tonality`` is written as Rekordbox shows keys ("Am", "F#", ...).

Cue points (``track_cues``) become ``POSITION_MARK`` elements as Rekordbox exports them:
``Name``, ``Type="0"`` (a cue), ``Start`` in seconds with 3 decimals, ``Num="-1"`` for a memory
cue or ``0..7`` for hot cue A..H, and ``Red``/``Green``/``Blue``. Which cue types become memory
and hot cues (A-D: mix_in, drop, breakdown, mix_out by default) is ``structure.yaml: rekordbox``.
The ``TEMPO`` grid comes from ``track_structure`` (the refined bar grid) when it is there. The
document is deterministic: the same library exports to the same bytes.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from dj_pipeline import __version__
from dj_pipeline.config.structure import RekordboxCuesConfig, load_structure_config
from dj_pipeline.music import PITCH_CLASSES

KIND_BY_FORMAT = {"wav": "WAV File", "flac": "FLAC File", "mp3": "MP3 File", "aiff": "AIFF File", "m4a": "M4A File", "ogg": "OGG File"}


def location_uri(path: str | os.PathLike) -> str:
    """``file://localhost/`` + percent-encoded absolute POSIX path (one slash, UTF-8)."""
    absolute = Path(path).expanduser().resolve().as_posix()
    return "file://localhost" + quote(absolute, safe="/")


def rekordbox_tonality(key_root: float | None, key_mode: str | None) -> str:
    """Rekordbox key notation: "Am" for A minor, "F#" for F# major; "" when unknown."""
    if key_root is None or pd.isna(key_root) or key_mode not in ("major", "minor"):
        return ""
    return PITCH_CLASSES[int(key_root) % 12] + ("m" if key_mode == "minor" else "")


def rekordbox_xml(
    library: pd.DataFrame,
    playlists: Mapping[str, Sequence[str]] | None = None,
    cues: pd.DataFrame | None = None,
    cue_config: RekordboxCuesConfig | None = None,
) -> ET.ElementTree:
    """Build the document. ``library``: one row per track (``tracks`` joined with ``track_features``,
    optionally ``grid_bpm``/``grid_first_downbeat_s`` from ``track_structure``); ``playlists``: name ->
    ordered track ids; ``cues``: ``track_cues`` rows (NULL cues are skipped)."""
    cue_config = cue_config or load_structure_config().rekordbox
    by_track = {t: g for t, g in cues.dropna(subset=["time_s"]).groupby("track_id")} if cues is not None and not cues.empty else {}
    root = ET.Element("DJ_PLAYLISTS", Version="1.0.0")
    ET.SubElement(root, "PRODUCT", Name="dj_pipeline", Version=__version__, Company="")
    collection = ET.SubElement(root, "COLLECTION", Entries=str(len(library)))
    number: dict[str, int] = {}
    for i, row in enumerate(library.itertuples(index=False), start=1):
        number[row.track_id] = i
        el = _track_element(i, row)
        for mark in position_marks(by_track.get(row.track_id), cue_config):
            ET.SubElement(el, "POSITION_MARK", mark)
        collection.append(el)
    nodes = ET.SubElement(root, "PLAYLISTS")
    top = ET.SubElement(nodes, "NODE", Type="0", Name="ROOT", Count=str(len(playlists or {})))
    for name, ids in (playlists or {}).items():
        known = [number[t] for t in ids if t in number]
        pl = ET.SubElement(top, "NODE", Name=name, Type="1", KeyType="0", Entries=str(len(known)))
        for n in known:
            ET.SubElement(pl, "TRACK", Key=str(n))
    ET.indent(root)
    return ET.ElementTree(root)


def _track_element(number: int, row: object) -> ET.Element:
    get = row._asdict().get  # type: ignore[attr-defined]
    bpm = get("bpm")
    attrs = {
        "TrackID": str(number),
        "Name": _text(get("title")) or Path(str(get("path"))).stem,
        "Artist": _text(get("artist")),
        "Album": _text(get("album")),
        "Genre": _text(get("genre")),
        "Kind": KIND_BY_FORMAT.get(str(get("format") or "").lower(), "Audio File"),
        "Size": str(int(get("size_bytes") or 0)),
        "TotalTime": str(int(round(float(get("duration_s") or 0.0)))),
        "SampleRate": str(int(get("sample_rate") or 0)),
        "AverageBpm": f"{float(bpm):.2f}" if _num(bpm) else "0.00",
        "Tonality": rekordbox_tonality(get("key_root"), get("key_mode")),
        "Comments": _comment(get),
        "Location": location_uri(str(get("path"))),
    }
    el = ET.Element("TRACK", attrs)
    grid_bpm = get("grid_bpm") if _num(get("grid_bpm")) else bpm
    start = get("grid_first_downbeat_s") if _num(get("grid_first_downbeat_s")) else get("first_downbeat_s")
    if _num(grid_bpm):
        ET.SubElement(el, "TEMPO", Inizio=f"{float(start) if _num(start) else 0.0:.3f}", Bpm=f"{float(grid_bpm):.2f}", Metro="4/4", Battito="1")
    return el


def position_marks(cues: pd.DataFrame | None, cfg: RekordboxCuesConfig) -> list[dict[str, str]]:
    """``POSITION_MARK`` attributes of one track's placed cues: memory cues by time, then hot cues A.. in order."""
    if cues is None or cues.empty:
        return []
    placed = cues.sort_values(["time_s", "type"], kind="stable")
    marks = []
    for c in placed.itertuples():
        if c.type in cfg.memory_cues:
            marks.append(_mark(c, -1, cfg))
    for num, kind in enumerate(cfg.hot_cues):
        hit = placed[placed["type"] == kind]
        if not hit.empty:
            marks.append(_mark(next(hit.itertuples()), num, cfg))
    return marks


def _mark(cue: object, num: int, cfg: RekordboxCuesConfig) -> dict[str, str]:
    kind = str(cue.type)  # type: ignore[attr-defined]
    length = getattr(cue, "length_bars", None)
    name = kind.replace("_", " ") + (f" {int(length)} bars" if _num(length) else "")
    attrs = {"Name": name, "Type": "0", "Start": f"{float(cue.time_s):.3f}", "Num": str(num)}  # type: ignore[attr-defined]
    rgb = cfg.colours.get(kind)
    if rgb is not None:
        attrs.update(Red=str(rgb[0]), Green=str(rgb[1]), Blue=str(rgb[2]))
    return attrs


def _comment(get) -> str:  # noqa: ANN001 - row accessor
    parts = []
    if get("camelot"):
        parts.append(str(get("camelot")))
    if _num(get("energy")):
        parts.append(f"energy {float(get('energy')):.2f}")
    return " | ".join(parts)


def _num(v: object) -> bool:
    return v is not None and not pd.isna(v)


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def write_rekordbox_xml(data_dir: str | os.PathLike, out: str | os.PathLike, playlists: Sequence[str] = ()) -> Path:
    """Write the library in ``data_dir`` (and the named sessions as playlists) to ``out`` atomically."""
    from dj_pipeline.errors import UserError
    from dj_pipeline.recommend.session import SessionStore
    from dj_pipeline.storage import DataPaths, read_asset

    paths = DataPaths(data_dir)
    tracks = read_asset(paths, "tracks")
    if tracks.empty:
        raise UserError(f"no analysed library in {paths.root}: run `dj ingest` first")
    features = read_asset(paths, "track_features").drop(columns=["batch"], errors="ignore")
    library = tracks.merge(features, on="track_id", how="left").sort_values("path")
    grid = read_asset(paths, "track_structure", columns=["bpm", "first_downbeat_s"])
    if not grid.empty:
        grid = grid[["track_id", "bpm", "first_downbeat_s"]].rename(columns={"bpm": "grid_bpm", "first_downbeat_s": "grid_first_downbeat_s"})
        library = library.merge(grid, on="track_id", how="left")
    cues = read_asset(paths, "track_cues")
    store = SessionStore(paths.sessions_dir)
    lists: dict[str, list[str]] = {}
    for name in playlists:
        state = store.load(name)
        if not state.played:
            raise UserError(f"no session named {name!r} with played tracks in {paths.sessions_dir}")
        lists[name] = [p.track_id for p in state.played if p.track_id]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    rekordbox_xml(library, lists, cues).write(tmp, encoding="UTF-8", xml_declaration=True)
    os.replace(tmp, out)
    return out
