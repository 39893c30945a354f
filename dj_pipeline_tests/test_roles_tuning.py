"""Rule weights: fitting (RuleWeightFitter), family rules summed per role, folds, config validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from dj_pipeline.config.roles import ROLES, load_roles_config
from dj_pipeline.roles import FEATURE_NAMES, rule_probabilities
from dj_pipeline.roles.tuning import RuleWeightFitter, devset_oneshots, rule_label, stratified_folds


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


def clustered(n_per: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Feature rows around one corner per label (clap and snare are two families of ACCENT)."""
    rng = np.random.default_rng(seed)
    labels = ["CORE/kick", "ACCENT/snare", "ACCENT/clap", "MOTION/hihat", "FILL/tom", "TEXTURE/fx"]
    x, y = [], []
    for k, label in enumerate(labels):
        centre = np.full(len(FEATURE_NAMES), 0.2)
        centre[k] = 0.9
        x.append(np.clip(centre + 0.05 * rng.standard_normal((n_per, len(FEATURE_NAMES))), 0, 1))
        y += [label] * n_per
    return np.vstack(x), y


def test_fitter_learns_separable_rules_and_round_trips_yaml(cfg) -> None:
    x, labels = clustered(20)
    fitter = RuleWeightFitter(cfg.tuning).fit(x, labels)
    truth = [label.split("/")[0] for label in labels]
    assert fitter.predict(x) == truth
    weights = fitter.weights()
    assert set(weights) == set(labels) and all("bias" in w for w in weights.values())
    pasted = yaml.safe_load("rules:\n" + fitter.to_yaml())["rules"]["weights"]
    assert set(pasted) == set(weights) and all(pasted[r] == pytest.approx(weights[r]) for r in weights)
    tuned = dataclasses.replace(cfg, rules=dataclasses.replace(cfg.rules, weights=pasted))
    x_test, labels_test = clustered(5, seed=1)
    p = rule_probabilities(x_test, tuned)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert [ROLES[i] for i in p.argmax(axis=1)] == [label.split("/")[0] for label in labels_test]
    # ACCENT's probability is the sum of its two family rules
    clap_rows = [i for i, label in enumerate(labels_test) if label == "ACCENT/clap"]
    assert (p[clap_rows, ROLES.index("ACCENT")] > 0.8).all()


def test_fitter_errors(cfg) -> None:
    x, labels = clustered(5)
    keep = [i for i, label in enumerate(labels) if not label.startswith("FILL")]
    with pytest.raises(ValueError, match="FILL"):
        RuleWeightFitter(cfg.tuning).fit(x[keep], [labels[i] for i in keep])
    with pytest.raises(RuntimeError, match="fit"):
        RuleWeightFitter(cfg.tuning).weights()


def test_stratified_folds_spread_each_role() -> None:
    roles = ["CORE"] * 10 + ["FILL"] * 5 + ["TEXTURE"] * 7
    folds = stratified_folds(roles, 5, seed=3)
    for role in set(roles):
        counts = np.bincount(folds[np.asarray(roles) == role], minlength=5)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(folds, stratified_folds(roles, 5, seed=3))


def test_rule_labels_and_devset_mapping(devset) -> None:
    assert rule_label("clap", "ACCENT") == "ACCENT/clap" and rule_label("clap", "ACCENT", by_family=False) == "ACCENT"
    items = devset_oneshots(devset)
    assert len(items) == 224
    scored = [r for _, _, r in items if r]
    assert len(scored) == 172 and set(scored) == set(ROLES)
    assert all(r == "" for _, c, r in items if c == "percussion")


def test_config_validation(cfg) -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        load_roles_config(overrides={"rules": {"weights": {"CORE/kick": {"loudness": 1.0}}}})
    with pytest.raises(ValueError, match="unknown role"):
        load_roles_config(overrides={"rules": {"weights": {"SNARE": {"bias": 1.0}}}})
    with pytest.raises(ValueError, match="unknown role"):
        load_roles_config(overrides={"pools": {"max_size": {"KICK": 3}}})
    with pytest.raises(ValueError, match="unknown RolesConfig option"):
        load_roles_config(overrides={"aplha": 0.5})
    assert cfg.pools.max_size["CORE"] == 4 and cfg.pools.max_size["MOTION"] == 10
    assert cfg.fusion.alpha == 0.9 and cfg.fusion.alpha_without_clap == 1.0
    assert {r.split("/")[0] for r in cfg.rules.weights} == set(ROLES)


def test_dataclass_defaults_match_the_yaml(cfg) -> None:
    """The typed defaults (used when a user's roles.yaml omits a key) are the packaged values."""

    def walk(default, loaded, path: str) -> list[str]:
        if dataclasses.is_dataclass(default):
            return [d for f in dataclasses.fields(default)
                    for d in walk(getattr(default, f.name), getattr(loaded, f.name), f"{path}.{f.name}")]
        return [] if isinstance(default, dict) or default == loaded else [f"{path}: {default!r} != {loaded!r}"]

    from dj_pipeline.config.roles import RolesConfig

    assert walk(RolesConfig(), cfg, "roles") == []
