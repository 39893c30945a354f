"""build_pools: required roles promoted (guards checked), max sizes, rebalancing, ineligible samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.config.roles import ROLES, load_roles_config
from dj_pipeline.roles import FEATURE_NAMES, POOL_COLUMNS, build_pools

NEUTRAL = {name: 0.5 for name in FEATURE_NAMES} | {"flatness": 0.1, "temporal_centroid": 0.1, "decay_fit": 0.9}


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


def row(sid: str, eligible: bool = True, **probs: float) -> dict:
    """A sample_roles row whose role, runner-up and margin follow from ``probs`` (role name -> p)."""
    p = np.array([probs.get(r.lower(), 0.0) for r in ROLES])
    p = p / p.sum()
    order = np.argsort(-p, kind="stable")
    feats = NEUTRAL | {k: v for k, v in probs.items() if k in FEATURE_NAMES}
    return {"sample_id": sid, "role": ROLES[order[0]] if eligible else "TEXTURE", "runner_up": ROLES[order[1]],
            "confidence": float(p[order[0]] - p[order[1]]) if eligible else 0.0, "eligible": eligible,
            **{f"p_final_{r.lower()}": float(p[i]) for i, r in enumerate(ROLES)}, **feats}


def pool(pools: pd.DataFrame, role: str) -> list[str]:
    return list(pools[pools["role"] == role].sort_values("rank")["sample_id"])


def test_max_sizes_and_ranking(cfg) -> None:
    rows = [row(f"k{i}", core=0.9 - 0.05 * i, accent=0.1) for i in range(6)]
    rows += [row("s", accent=0.9, core=0.1), row("h", motion=0.9, accent=0.1)]
    pools = build_pools(pd.DataFrame(rows), cfg)
    assert pool(pools, "CORE") == ["k0", "k1", "k2", "k3"]  # max 4, best p_core first
    assert list(pools.columns) == POOL_COLUMNS
    assert not pools["promoted"].any()


def test_missing_required_role_is_promoted_with_guard_check(cfg) -> None:
    rows = [
        row("k1", core=0.8, accent=0.2), row("k2", core=0.7, motion=0.3, high_ratio=0.0, zcr=0.0),
        row("k3", core=0.7, motion=0.2, accent=0.1, high_ratio=0.6), row("s", accent=0.9, core=0.1),
    ]
    pools = build_pools(pd.DataFrame(rows), cfg)
    # k2 has the higher p_motion but no high band (motion_minimum): k3 is promoted instead
    assert pool(pools, "MOTION") == ["k3"]
    promoted = pools.set_index("sample_id").loc["k3"]
    assert bool(promoted["promoted"]) and promoted["moved_from"] == "CORE"
    assert pool(pools, "CORE") == ["k1", "k2"]


def test_promotion_never_empties_another_required_pool(cfg) -> None:
    rows = [row("k", core=0.6, accent=0.4), row("h", motion=0.9, accent=0.1), row("f", fill=0.7, accent=0.3)]
    pools = build_pools(pd.DataFrame(rows), cfg)
    assert pool(pools, "ACCENT") == ["f"]  # k has the higher p_accent but is CORE's only member
    assert pool(pools, "CORE") == ["k"] and pool(pools, "FILL") == []


def test_rebalance_moves_low_margin_members_to_a_runner_up_with_room(cfg) -> None:
    rows = [row(f"s{i}", accent=0.9, core=0.1) for i in range(4)]
    rows += [row("edge", accent=0.5, fill=0.45, core=0.05), row("k", core=0.9, accent=0.1), row("h", motion=0.9, accent=0.1)]
    pools = build_pools(pd.DataFrame(rows), cfg)
    assert pool(pools, "ACCENT") == ["s0", "s1", "s2", "s3"]
    moved = pools.set_index("sample_id").loc["edge"]
    assert moved["role"] == "FILL" and moved["moved_from"] == "ACCENT" and not moved["promoted"]
    strict = load_roles_config(overrides={"pools": {"rebalance_margin": 0.01}})
    assert "edge" not in set(build_pools(pd.DataFrame(rows), strict)["sample_id"])  # over capacity: dropped


def test_ineligible_samples_stay_out(cfg) -> None:
    rows = [row("loop", eligible=False, core=0.9, accent=0.1), row("s", accent=0.9, core=0.1), row("h", motion=0.9, core=0.1)]
    pools = build_pools(pd.DataFrame(rows), cfg)
    assert "loop" not in set(pools["sample_id"])
    assert pool(pools, "CORE") == []  # the loop is not eligible and s, h are their pools' only members
    assert pool(pools, "ACCENT") == ["s"] and pool(pools, "MOTION") == ["h"]


def test_empty_input(cfg) -> None:
    pools = build_pools(pd.DataFrame(), cfg)
    assert pools.empty and list(pools.columns) == POOL_COLUMNS
