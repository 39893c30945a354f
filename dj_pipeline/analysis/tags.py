"""The file's own BPM and key tags against the audio analysis: conflicts, and when to trust the tag.

``tag_bpm`` / ``tag_key`` come from the catalog (another DJ tool, the label, the user). They are
evidence, not truth: tags are often rounded, at another metrical level, or plain wrong.

* Tempo: a tag within ``bpm_tolerance_pct`` of the analysed tempo agrees. A tag at a metrical
  ratio (x2, x1/2, x3/2 ...) of it is the same pulse counted differently: the analysis cannot tell
  the octave better than whoever wrote the tag, so (unless ``trust_tags: never``) the analysed tempo
  is moved to the tag's level, keeping the analysed precision. Anything else is a conflict.
* Key: the same key agrees (any spelling: the catalog normalised it); anything else is a conflict.
* ``trust_tags``: ``never`` keeps the analysis; ``always`` takes the tag on a conflict;
  ``when_unclear`` (default) takes the tag only where the analysis is unsure (``bpm_confidence``
  below ``unclear_bpm_confidence``, ``key_clarity`` below ``unclear_key_clarity``, or no value).

Every conflict is named in ``tag_conflict`` ("bpm", "key" or "bpm,key": a column SQL users can
filter on) and explained in ``analysis_warnings``, whichever value was kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dj_pipeline.config.analysis import TagsConfig
from dj_pipeline.music import key_name, parse_key
from dj_pipeline.music.keys import camelot_code

TRUST_CHOICES = ("never", "when_unclear", "always")
METRICAL_RATIOS: tuple[float, ...] = (2.0, 0.5, 1.5, 2.0 / 3.0, 3.0, 1.0 / 3.0, 4.0, 0.25)


def valid_tag_bpm(value: Any) -> float | None:
    """A usable BPM tag (finite, 20..400) or ``None``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and 20.0 <= f <= 400.0 else None


def tempo_relation(bpm: float, tag_bpm: float, tolerance_pct: float) -> float | None:
    """``1.0`` when the tag agrees, the metrical ratio ``tag / bpm`` it sits at, else ``None``."""
    for ratio in (1.0, *METRICAL_RATIOS):
        if abs(tag_bpm / (bpm * ratio) - 1.0) <= tolerance_pct / 100.0:
            return ratio
    return None


def reconcile_tempo(values: Mapping[str, Any], tag_bpm: Any, cfg: TagsConfig, warnings: list[str]) -> tuple[dict[str, Any], bool]:
    """``({"bpm": ...}, conflict)`` after weighing the BPM tag against the analysed tempo."""
    tag = valid_tag_bpm(tag_bpm)
    bpm, confidence = values.get("bpm"), float(values.get("bpm_confidence") or 0.0)
    if tag is None:
        return {}, False
    if bpm is None:
        if cfg.trust_tags == "never":
            return {}, False
        warnings.append(f"bpm from the file's tag ({tag:g}): the analysis found no tempo")
        return {"bpm": round(tag, 2)}, False
    ratio = tempo_relation(float(bpm), tag, cfg.bpm_tolerance_pct)
    if ratio == 1.0:
        return {}, False
    if ratio is not None:
        if cfg.trust_tags == "never":
            warnings.append(f"bpm tag {tag:g} is x{ratio:.3g} of the analysed {bpm:g} (kept the analysis)")
            return {}, False
        return {"bpm": round(float(bpm) * ratio, 2)}, False
    unclear = confidence < cfg.unclear_bpm_confidence
    if cfg.trust_tags == "always" or cfg.trust_tags == "when_unclear" and unclear:
        warnings.append(f"bpm tag conflict: tag {tag:g}, audio {bpm:g} (pulse clarity {confidence:.2f}); used the tag")
        return {"bpm": round(tag, 2)}, True
    warnings.append(f"bpm tag conflict: tag {tag:g}, audio {bpm:g} (pulse clarity {confidence:.2f}); kept the analysis")
    return {}, True


def key_fields(root: int, mode: str) -> dict[str, Any]:
    """The key columns of a key given as root and mode."""
    return {"key": key_name(root, mode), "key_root": int(root), "key_mode": mode, "camelot": camelot_code(root, mode)}


def reconcile_key(values: Mapping[str, Any], tag_key: Any, cfg: TagsConfig, warnings: list[str]) -> tuple[dict[str, Any], bool]:
    """``(key columns to overwrite, conflict)`` after weighing the key tag against the analysed key."""
    if not isinstance(tag_key, str) or not tag_key.strip():
        return {}, False
    try:
        root, mode = parse_key(tag_key)
    except ValueError:
        return {}, False
    est_root, est_mode = values.get("key_root"), values.get("key_mode")
    if est_root is None:
        if cfg.trust_tags == "never":
            return {}, False
        warnings.append(f"key from the file's tag ({key_name(root, mode)}): the analysis found no key")
        return key_fields(root, mode), False
    if int(est_root) == root and est_mode == mode:
        return {}, False
    clarity = float(values.get("key_clarity") or 0.0)
    unclear = clarity < cfg.unclear_key_clarity
    said = f"key tag conflict: tag {key_name(root, mode)}, audio {values.get('key')} (clarity {clarity:.2f})"
    if cfg.trust_tags == "always" or cfg.trust_tags == "when_unclear" and unclear:
        warnings.append(said + "; used the tag")
        return key_fields(root, mode), True
    warnings.append(said + "; kept the analysis")
    return {}, True


def apply_tags(values: dict[str, Any], tags: Mapping[str, Any] | None, cfg: TagsConfig, warnings: list[str]) -> None:
    """Weigh ``tag_bpm`` / ``tag_key`` against ``values`` in place and set ``tag_conflict``."""
    conflicts = []
    if tags:
        for name, reconcile, tag in (("bpm", reconcile_tempo, tags.get("tag_bpm")), ("key", reconcile_key, tags.get("tag_key"))):
            update, conflict = reconcile(values, tag, cfg, warnings)
            values.update(update)
            if conflict:
                conflicts.append(name)
    values["tag_conflict"] = ",".join(conflicts) or None
