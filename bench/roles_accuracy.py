"""Drum-role accuracy: per-role precision/recall, macro-F1 and confusion matrix, rules alone.

    python bench/roles_accuracy.py [--devset DIR] [--demo-samples 40] [--seed 0]
                                   [--weights FILE] [--cv] [--tune] [--ablate] [--no-demo]

Data: the real devset (``labels.csv`` kind=oneshot; kick->CORE, snare/clap->ACCENT,
hihat/cymbal->MOTION, tom->FILL, fx->TEXTURE; percussion assigned but not scored) and the demo
generator's one-shots (``generate_oneshots``, role truth from its config).
- default: the packaged ``roles.yaml`` (rules, texture penalty and guards; no CLAP)
- ``--weights FILE``: a YAML file with a ``weights:`` mapping replacing ``rules.weights``
  (``bench/roles_handset_weights.yaml`` holds the hand-set weights used before tuning)
- ``--cv``: honest estimate of the tuned rules: weights refitted on 4/5 of the devset, scored on
  the held-out 1/5 (stratified by role, ``tuning.folds``), pooled over the folds
- ``--tune``: fit the weights on the whole devset and print the ``weights:`` block for roles.yaml
- ``--ablate``: macro-F1 with each guard switched off in turn
Writes bench/results/roles_accuracy.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.audio.io import AudioDecodeError  # noqa: E402
from dj_pipeline.config.roles import RolesConfig, load_roles_config  # noqa: E402
from dj_pipeline.roles.assign import decide, score_clips  # noqa: E402
from dj_pipeline.roles.preprocess import OneShot, load_oneshot  # noqa: E402
from dj_pipeline.roles.rules import feature_matrix  # noqa: E402
from dj_pipeline.roles.tuning import RuleWeightFitter, devset_oneshots, role_report, rule_label, stratified_folds  # noqa: E402

DEFAULT_DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
GUARDS = ("texture_suppress", "sustained_noise_suppress", "motion_minimum", "conservative_fill", "low_confidence_texture")


@dataclass
class LabelledSet:
    """Decoded one-shots with their drum class and role (role "" = not scored)."""

    clips: list[OneShot]
    classes: list[str]
    roles: list[str]
    failed: list[str]

    def scored(self) -> LabelledSet:
        keep = [i for i, r in enumerate(self.roles) if r]
        pick = [self.clips[i] for i in keep], [self.classes[i] for i in keep], [self.roles[i] for i in keep]
        return LabelledSet(*pick, self.failed)


def load_items(items: list[tuple[Path, str, str]], config: RolesConfig) -> LabelledSet:
    """Decode every ``(path, drum_class, role)``; files that fail are listed, not raised."""
    out = LabelledSet([], [], [], [])
    for path, drum_class, role in items:
        try:
            out.clips.append(load_oneshot(path, config.preprocess)[0])
        except AudioDecodeError as exc:
            out.failed.append(f"{path.name}: {exc}")
            continue
        out.classes.append(drum_class)
        out.roles.append(role)
    return out


def predict(clips: list[OneShot], config: RolesConfig) -> list[str]:
    scored = score_clips(clips, config)
    return [decide(c, scored.p_final[i])[0] for i, c in enumerate(clips)]


def with_weights(config: RolesConfig, weights: dict) -> RolesConfig:
    return dataclasses.replace(config, rules=dataclasses.replace(config.rules, weights=weights))


def without_guard(config: RolesConfig, name: str) -> RolesConfig:
    guard = dataclasses.replace(getattr(config.guards, name), enabled=False)
    return dataclasses.replace(config, guards=dataclasses.replace(config.guards, **{name: guard}))


def print_report(title: str, truth: list[str], predicted: list[str]) -> dict:
    per_role, conf, macro = role_report(truth, predicted)
    print(f"\n== {title}: {len(truth)} scored one-shots, macro-F1 {macro:.3f}")
    print(per_role.round(3).to_string())
    print("confusion (rows truth, columns predicted):")
    print(conf.to_string())
    return {"n": len(truth), "macro_f1": macro, "per_role": per_role.round(4).to_dict(orient="index"),
            "confusion": conf.to_dict(orient="index")}


def fit_weights(data: LabelledSet, rows: np.ndarray, x: np.ndarray, config: RolesConfig) -> RuleWeightFitter:
    labels = [rule_label(data.classes[i], data.roles[i], config.tuning.by_family) for i in rows]
    return RuleWeightFitter(config.tuning).fit(x[rows], labels)


def cross_validated(data: LabelledSet, config: RolesConfig) -> list[str]:
    """Held-out predictions: per fold, weights fitted on the other folds, full pipeline on this one."""
    x = feature_matrix(score_clips(data.clips, config).features)
    folds = stratified_folds(data.roles, config.tuning.folds, config.tuning.seed)
    predicted = [""] * len(data.clips)
    for k in range(config.tuning.folds):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fitted = with_weights(config, fit_weights(data, train, x, config).weights())
        for i, role in zip(test, predict([data.clips[i] for i in test], fitted)):
            predicted[i] = role
    return predicted


def demo_items(n: int, seed: int, out_dir: Path) -> list[tuple[Path, str, str]]:
    from dj_pipeline.demo import generate_oneshots  # noqa: PLC0415

    truth = generate_oneshots(out_dir, n, seed).fillna({"role": ""})
    return [(out_dir / p, str(c), str(r)) for p, c, r in zip(truth["path"], truth["drum_class"], truth["role"])]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    ap.add_argument("--demo-samples", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--config", type=Path, default=None, help="a roles.yaml to use instead of the packaged one")
    ap.add_argument("--weights", type=Path, default=None, help="YAML file with a weights: mapping replacing rules.weights")
    ap.add_argument("--cv", action="store_true")
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--ablate", action="store_true")
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "roles_accuracy.json")
    args = ap.parse_args(argv)

    config = load_roles_config(args.config)
    if args.weights:
        config = with_weights(config, yaml.safe_load(args.weights.read_text(encoding="utf-8"))["weights"])
    results: dict = {"weights": str(args.weights or "roles.yaml"), "sets": {}}
    sets: dict[str, LabelledSet] = {}
    t0 = time.perf_counter()
    if (args.devset / "labels.csv").exists():
        data = load_items(devset_oneshots(args.devset), config)
        sets["devset"] = data.scored()
        print(f"devset: {len(data.clips)} one-shots decoded ({len(data.failed)} failed), {len(sets['devset'].clips)} scored")
    else:
        print(f"devset not found at {args.devset}: skipped")
    if not args.no_demo:
        with tempfile.TemporaryDirectory() as tmp:
            sets["demo"] = load_items(demo_items(args.demo_samples, args.seed, Path(tmp)), config).scored()
    print(f"decoded in {time.perf_counter() - t0:.1f} s")

    for name, data in sets.items():
        results["sets"][name] = print_report(f"{name} ({results['weights']})", data.roles, predict(data.clips, config))
        if name == "devset" and not args.weights and not args.config:
            print("note: the packaged weights were fitted on this devset (in-sample figure); --cv gives the held-out one")
        if args.ablate:
            print("guard ablation (macro-F1 with the guard off):")
            for g in GUARDS:
                _, _, macro = role_report(data.roles, predict(data.clips, without_guard(config, g)))
                print(f"  {g:<26} {macro:.3f}")
                results["sets"][name][f"without_{g}"] = macro
    if "devset" in sets and (args.cv or args.tune):
        data = sets["devset"]
        if args.cv:
            title = f"devset, {config.tuning.folds}-fold cross-validated tuning"
            results["sets"]["devset_cv"] = print_report(title, data.roles, cross_validated(data, config))
        if args.tune:
            x = feature_matrix(score_clips(data.clips, config).features)
            fitter = fit_weights(data, np.arange(len(data.clips)), x, config)
            print("\nfitted on the whole devset (paste under rules: in roles.yaml):")
            print(fitter.to_yaml())
            tuned = with_weights(config, fitter.weights())
            title = "devset, freshly tuned weights (in-sample)"
            results["sets"]["devset_tuned_in_sample"] = print_report(title, data.roles, predict(data.clips, tuned))
            if "demo" in sets:
                demo = sets["demo"]
                title = "demo, freshly tuned weights"
                results["sets"]["demo_tuned"] = print_report(title, demo.roles, predict(demo.clips, tuned))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
