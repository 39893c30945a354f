"""Role pools: which one-shots a drum-pattern generator may pick for each role.

Rules (``roles.yaml`` ``pools``): members are eligible samples (not silent, not loops) ranked by
their probability for the role; CORE/ACCENT/MOTION must not be empty (the best candidate whose
feature guards allow the role is promoted); a pool over its ``max_size`` first moves low-margin
members to their runner-up pool when that has room, then keeps the top ``max_size``.
FILL and TEXTURE may stay empty.
"""

from __future__ import annotations

import pandas as pd

from dj_pipeline.config.roles import ROLES, RolesConfig
from dj_pipeline.roles.features import FEATURE_NAMES
from dj_pipeline.roles.guards import role_allowed

POOL_COLUMNS = ["role", "sample_id", "rank", "p_role", "margin", "promoted", "moved_from"]


def _p(row: pd.Series, role: str) -> float:
    return float(row[f"p_final_{role.lower()}"])


def _capacity(config: RolesConfig, role: str) -> float:
    size = config.pools.max_size.get(role)
    return float("inf") if size is None else float(size)


def _allowed(row: pd.Series, role: str, config: RolesConfig) -> bool:
    return role_allowed(role, {f: float(row[f]) for f in FEATURE_NAMES}, config.guards)


def build_pools(sample_roles: pd.DataFrame, config: RolesConfig) -> pd.DataFrame:
    """``role_pools`` rows: role, sample_id, rank (1 = best) plus p_role, margin, promoted, moved_from."""
    if sample_roles.empty:
        return _frame([])
    df = sample_roles.drop_duplicates("sample_id").set_index("sample_id", drop=False)
    usable = df[df["eligible"].astype(bool)] if "eligible" in df else df
    members: dict[str, dict[str, dict]] = {r: {} for r in ROLES}
    for sid, row in usable.iterrows():
        members[str(row["role"])][sid] = {"promoted": False, "moved_from": None}
    _promote_missing(members, usable, config)
    _rebalance(members, usable, config)
    rows = []
    for role in ROLES:
        ranked = sorted(members[role], key=lambda s: (-_p(usable.loc[s], role), s))
        for rank, sid in enumerate(ranked[: int(min(_capacity(config, role), len(ranked)))], start=1):
            info = members[role][sid]
            rows.append({"role": role, "sample_id": sid, "rank": rank, "p_role": _p(usable.loc[sid], role),
                         "margin": float(usable.loc[sid, "confidence"]), **info})
    return _frame(rows)


def _promote_missing(members: dict[str, dict[str, dict]], usable: pd.DataFrame, config: RolesConfig) -> None:
    """Fill each empty required pool with the best allowed candidate that is not another pool's only member."""
    for role in config.pools.required:
        if members[role]:
            continue
        owner = {sid: r for r, m in members.items() for sid in m}
        candidates = sorted(usable.index, key=lambda s: -_p(usable.loc[s], role))
        for sid in candidates:
            src = owner.get(sid)
            if src in config.pools.required and len(members[src]) <= 1:
                continue
            if not _allowed(usable.loc[sid], role, config):
                continue
            if src is not None:
                del members[src][sid]
            members[role][sid] = {"promoted": True, "moved_from": src}
            break


def _rebalance(members: dict[str, dict[str, dict]], usable: pd.DataFrame, config: RolesConfig) -> None:
    """Move low-margin members of over-full pools to their runner-up pool while it has room."""
    for role in ROLES:
        overflow = len(members[role]) - _capacity(config, role)
        if overflow <= 0:
            continue
        low = sorted((s for s in members[role] if float(usable.loc[s, "confidence"]) < config.pools.rebalance_margin
                      and not members[role][s]["promoted"]), key=lambda s: float(usable.loc[s, "confidence"]))
        for sid in low:
            if overflow <= 0:
                break
            target = str(usable.loc[sid, "runner_up"])
            full = len(members[target]) >= _capacity(config, target)
            if target == role or full or not _allowed(usable.loc[sid], target, config):
                continue
            del members[role][sid]
            members[target][sid] = {"promoted": False, "moved_from": role}
            overflow -= 1


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=POOL_COLUMNS)
    return df.astype({"role": "string", "sample_id": "string", "rank": "int64", "p_role": "float64",
                      "margin": "float64", "promoted": bool, "moved_from": "string"})
