"""Drum-role stage: scan a one-shot folder incrementally and assign roles to new samples only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from dj_pipeline.catalog import content_id, find_audio_paths
from dj_pipeline.storage.tables import ERROR_COLUMNS

SAMPLE_CATALOG_COLUMNS = ["sample_id", "path", "rel_path", "size_bytes", "mtime", "scanned_at"]


def scan_samples(samples_dir: str | os.PathLike, previous: pd.DataFrame) -> pd.DataFrame:
    """One row per one-shot file; unchanged files (path, size, mtime) keep their id without a read."""
    root = Path(samples_dir).resolve()
    files, _ = find_audio_paths(root)
    prev = {r.path: r for r in previous.itertuples(index=False)} if not previous.empty else {}
    now = datetime.now(timezone.utc)
    rows: dict[str, dict[str, Any]] = {}
    for path in files:
        st = path.stat()
        old = prev.get(str(path))
        if old is not None and old.size_bytes == st.st_size and old.mtime == st.st_mtime:
            sid = old.sample_id
        elif st.st_size == 0:
            sid = f"empty:{path.name}"  # still catalogued so the roles stage reports it
        else:
            sid = content_id(path)
        rows.setdefault(sid, {
            "sample_id": sid, "path": str(path), "rel_path": str(path.relative_to(root)),
            "size_bytes": st.st_size, "mtime": st.st_mtime, "scanned_at": now,
        })  # fmt: skip
    return pd.DataFrame(list(rows.values()), columns=SAMPLE_CATALOG_COLUMNS)


@dataclass
class RolesOutput:
    roles: pd.DataFrame
    errors: pd.DataFrame
    n_new: int
    fusion_alpha: float | None


def assign_incremental(
    catalog: pd.DataFrame, previous_roles: pd.DataFrame, previous_errors: pd.DataFrame, config: Any, clap: Any = None
) -> RolesOutput:
    """Assign roles to samples not seen before and keep earlier results of unchanged samples.

    Per-sample scores are reused when the sample's content id is unchanged; pools (a whole-folder
    decision) are rebuilt from all of them by the ``role_pools`` asset.
    """
    from dj_pipeline.roles import assign_roles

    if not previous_roles.empty and "fusion_alpha" in previous_roles:
        # scores made without CLAP are redone once CLAP weights are there (and the other way round)
        rules_only = previous_roles["fusion_alpha"].astype(float) >= 1.0
        previous_roles = previous_roles[rules_only == (clap is None)]
    known = set(previous_roles["sample_id"]) if not previous_roles.empty else set()
    known_bad = set(previous_errors["sample_id"]) if "sample_id" in previous_errors else set()
    current_ids = set(catalog["sample_id"])
    todo = catalog[~catalog["sample_id"].isin(known | known_bad)]
    new_roles, new_errors = assign_roles(list(zip(todo["sample_id"], todo["path"])), config, clap=clap)
    if not new_errors.empty:
        id_by_path = dict(zip(todo["path"], todo["sample_id"]))
        now = datetime.now(timezone.utc)
        new_errors = new_errors.assign(sample_id=new_errors["path"].map(id_by_path), first_seen=now, last_seen=now)
    kept = previous_roles[previous_roles["sample_id"].isin(current_ids)] if known else previous_roles
    roles = pd.concat([kept, new_roles], ignore_index=True) if not kept.empty else new_roles
    if not roles.empty:
        paths = dict(zip(catalog["sample_id"], catalog["path"]))
        roles = roles.assign(path=roles["sample_id"].map(paths).fillna(roles["path"]))
    kept_err = previous_errors[previous_errors["sample_id"].isin(current_ids)] if "sample_id" in previous_errors else previous_errors
    errors = pd.concat([kept_err, new_errors], ignore_index=True) if not kept_err.empty else new_errors
    alpha = float(new_roles["fusion_alpha"].iloc[0]) if "fusion_alpha" in new_roles and len(new_roles) else None
    return RolesOutput(roles, errors.reindex(columns=[*ERROR_COLUMNS, "sample_id"]), len(todo), alpha)
