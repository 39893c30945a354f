"""Set plans: which energy goal applies at each point of a set ("warm-up 30 min -> peak -> release").

A plan is a list of phases, each with a goal and a length in minutes of played music; the last
phase is open-ended. The position in the set is the total length of the tracks played so far,
so a plan follows the music, not the wall clock (a restarted laptop does not skip the peak).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from dj_pipeline.config.recommend import PlanPhase, RecommendConfig
from dj_pipeline.recommend.errors import RecommendError

_PHASE = re.compile(r"^\s*(?P<name>[A-Za-z][A-Za-z _-]*?)\s*(?:(?P<minutes>\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes)?)?\s*$")


@dataclass(frozen=True)
class SetPlan:
    """Ordered phases; ``goal_at(minutes)`` picks the phase (and goal) for a set position."""

    phases: tuple[PlanPhase, ...]

    def __post_init__(self) -> None:
        if not self.phases:
            raise RecommendError("a set plan needs at least one phase")

    def phase_at(self, minutes: float) -> PlanPhase:
        """The phase that covers ``minutes`` into the set (the last one once all have elapsed)."""
        start = 0.0
        for phase in self.phases[:-1]:
            start += float(phase.minutes or 0.0)
            if minutes < start:
                return phase
        return self.phases[-1]

    def goal_at(self, minutes: float) -> str:
        return self.phase_at(minutes).goal

    def to_list(self) -> list[dict]:
        return [asdict(p) for p in self.phases]

    @classmethod
    def from_list(cls, phases: Sequence[dict]) -> "SetPlan":
        return cls(tuple(PlanPhase(**p) for p in phases))


def parse_set_plan(spec: str | SetPlan | Sequence[dict], config: RecommendConfig) -> SetPlan:
    """A plan from a configured plan name, from text, or from a list of phase dicts.

    Text: phases separated by ``->``, each a phase word with an optional length, e.g.
    ``"warm-up 30 min -> peak 45 -> release"``. Phase words map to goals through
    ``phase_goals`` in ``recommend.yaml``; a goal name itself ("up", "peak") is accepted too.
    """
    if isinstance(spec, SetPlan):
        return spec
    if not isinstance(spec, str):
        return _with_lengths(tuple(PlanPhase(**p) for p in spec), config)
    if spec in config.plans:
        return _with_lengths(config.plans[spec], config)
    phases = []
    for part in spec.split("->"):
        m = _PHASE.match(part)
        if not m:
            raise RecommendError(f"cannot read set plan phase {part.strip()!r} (expected e.g. 'peak 30 min')")
        name = m.group("name").strip().lower()
        goal = config.phase_goals.get(name) or (name if name in config.goals else None)
        if goal is None:
            known = sorted(set(config.phase_goals) | set(config.goals))
            raise RecommendError(f"unknown set plan phase {name!r}; known: {', '.join(known)}")
        minutes = float(m.group("minutes")) if m.group("minutes") else None
        phases.append(PlanPhase(name, goal, minutes))
    return _with_lengths(tuple(phases), config)


def _with_lengths(phases: tuple[PlanPhase, ...], config: RecommendConfig) -> SetPlan:
    """Give every phase but the last a length (``default_phase_minutes`` when none was given)."""
    for p in phases:
        if p.goal not in config.goals:
            raise RecommendError(f"set plan phase {p.name!r} has unknown goal {p.goal!r}")
    fixed = [
        p if p.minutes is not None or i == len(phases) - 1 else PlanPhase(p.name, p.goal, config.default_phase_minutes)
        for i, p in enumerate(phases)
    ]
    return SetPlan(tuple(fixed))
