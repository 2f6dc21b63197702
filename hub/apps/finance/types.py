"""GraphQL types of smart finance: a firm's smoke index, its explanation and trend, the watch
list and its history, statistics. Every field declares its classification: firm names and
places are public registry facts; scores are the regulator's internal assessment."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from core_ext.risk import SMOKE_DIMENSIONS
from hub.apps import kit
from hub.apps.finance.services import (
    LEVEL_NAMES,
    SCORE_KIND,
    WATCH_KIND,
    RunResult,
    SmokeIndexService,
    Stats,
)
from hub.policy.aggregates import EXACT, FigureRule
from schema.classification import classified
from schema.context import records
from schema.federation import reference_record, representation_key
from schema.record import Record
from schema.scalars import GeoJSON, geojson

WITHHELD = "null: withheld (counts-only access, fewer firms than its minimum group)"


@strawberry.enum(description="Smoke-index levels: the bands (default 40 / 60 / 80) passed")
class SmokeLevel(Enum):
    NORMAL = 0
    WATCHED = 1  # above 40: supervised automatically
    WARNING = 2
    ALERT = 3


def _level(value: Any) -> SmokeLevel:
    return SmokeLevel(max(0, min(int(value), len(LEVEL_NAMES) - 1)))


@strawberry.type(description="One dimension's part of a firm's score")
class SmokeDimension:
    dimension: str = strawberry.field(
        description="compliance_deviation, social_propagation, inducement, complaint_rate, "
        "risk_keyword_hits",
        metadata=classified("public"),
    )
    raw_value: float = strawberry.field(
        description="The value derived from the sources (see the finance services)",
        metadata=classified("internal"),
    )
    weight: float = strawberry.field(
        description="The dimension's share of the maximum score (weights sum to 1)",
        metadata=classified("public"),
    )
    contribution: float = strawberry.field(
        description="Points of the score from this dimension (they sum to the score)",
        metadata=classified("internal"),
    )


@strawberry.type(description="The score of a firm in one scoring run")
class SmokeTrendPoint:
    run: str = strawberry.field(metadata=classified("internal"))
    at: datetime = strawberry.field(metadata=classified("internal"))
    score: float = strawberry.field(metadata=classified("internal"))
    level: SmokeLevel = strawberry.field(metadata=classified("internal"))


@strawberry.type(description="A period on the watch list: when the firm entered and left")
class WatchPeriod:
    entered_at: datetime = strawberry.field(metadata=classified("internal"))
    entered_run: str = strawberry.field(metadata=classified("internal"))
    entered_score: float = strawberry.field(metadata=classified("internal"))
    left_at: datetime | None = strawberry.field(metadata=classified("internal"))
    left_run: str | None = strawberry.field(metadata=classified("internal"))
    left_score: float | None = strawberry.field(metadata=classified("internal"))

    @classmethod
    def of(cls, p: dict[str, Any]) -> WatchPeriod:
        return cls(
            entered_at=datetime.fromisoformat(p["entered_at"]),
            entered_run=p["entered_run"],
            entered_score=float(p["entered_score"]),
            left_at=datetime.fromisoformat(p["left_at"]) if p.get("left_at") else None,
            left_run=p.get("left_run"),
            left_score=float(p["left_score"]) if p.get("left_score") is not None else None,
        )


@strawberry.federation.type(
    name="SmokeIndex",
    keys=["firmKey"],
    description="A quasi-financial firm's smoke index (冒烟指数)",
)
class SmokeIndexType:
    firm_key: strawberry.ID = strawberry.field(metadata=classified("public"))
    firm_name: str | None = strawberry.field(metadata=classified("public"))
    firm_type: str | None = strawberry.field(
        description="leasing, factoring, private_fund, small_loan, pawn, guarantee, trading_venue",
        metadata=classified("public"),
    )
    firm_type_name: str | None = strawberry.field(metadata=classified("public"))
    street: str | None = strawberry.field(metadata=classified("public"))
    park: str | None = strawberry.field(metadata=classified("public"))
    grid_cell: str | None = strawberry.field(metadata=classified("public"))
    score: float = strawberry.field(
        description="0..100, higher is riskier", metadata=classified("internal")
    )
    level: SmokeLevel = strawberry.field(metadata=classified("internal"))
    watched: bool = strawberry.field(
        description="On the watch list (score above the first band)",
        metadata=classified("internal"),
    )
    run: str = strawberry.field(description="The scoring run", metadata=classified("internal"))
    scored_at: datetime = strawberry.field(metadata=classified("internal"))
    explanation: list[SmokeDimension] = strawberry.field(
        description="Each dimension's contribution; they sum to the score",
        metadata=classified("internal"),
    )
    trend: list[SmokeTrendPoint] = strawberry.field(
        description="The firm's score over the scoring runs, oldest first",
        metadata=classified("internal"),
    )
    watch_history: list[WatchPeriod] = strawberry.field(
        description="The firm's periods on the watch list, oldest first",
        metadata=classified("internal"),
    )
    geometry: GeoJSON | None = strawberry.field(metadata=classified("public"))

    @classmethod
    def build(cls, score: Record, watch: Record | None) -> SmokeIndexType:
        a = score.attrs
        raw, contrib, weights = a.get("raw", {}), a.get("contributions", {}), a.get("weights", {})
        # in the dimensions' order (a JSON store need not keep the keys' order)
        periods = (watch.attrs.get("periods") or []) if watch else []
        return cls(
            firm_key=strawberry.ID(score.key),
            firm_name=a.get("name"),
            firm_type=a.get("firm_type"),
            firm_type_name=a.get("firm_type_name"),
            street=a.get("street"),
            park=a.get("park"),
            grid_cell=a.get("grid_cell"),
            score=float(a["score"]),
            level=_level(a["level"]),
            watched=bool(a.get("watched")),
            run=str(a["run"]),
            scored_at=score.fetched_at,
            explanation=[
                SmokeDimension(
                    dimension=d,
                    raw_value=float(raw[d]),
                    weight=float(weights.get(d, 0.0)),
                    contribution=float(contrib[d]),
                )
                for d in SMOKE_DIMENSIONS
                if d in contrib
            ],
            trend=[
                SmokeTrendPoint(
                    run=h["run"],
                    at=datetime.fromisoformat(h["at"]),
                    score=float(h["score"]),
                    level=_level(h["level"]),
                )
                for h in a.get("history") or []
            ],
            watch_history=[WatchPeriod.of(p) for p in periods],
            geometry=geojson(score.geometry),
        )

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> SmokeIndexType:
        """A gateway's reference by ``firmKey`` (the FinanceFirm's hub key), read as
        ``smokeIndex``."""
        key = representation_key(representation, "SmokeIndex", "firmKey", node=False)
        await kit.off_loop(kit.service(info, SmokeIndexService).ensure_scored)
        score = await reference_record(info, SCORE_KIND, key)
        return cls.build(score, await records(info).load(WATCH_KIND, key))


@strawberry.type
class SmokeLevelCount:
    level: SmokeLevel = strawberry.field(metadata=classified("public"))
    firms: int = strawberry.field(metadata=classified("public"))


@strawberry.type(description="Firms and watched firms of one street or park")
class SmokeAreaCount:
    name: str = strawberry.field(metadata=classified("public"))
    firms: int = strawberry.field(metadata=classified("public"))
    watched: int | None = strawberry.field(description=WITHHELD, metadata=classified("public"))


@strawberry.type(description="Firms and watched firms of one firm type")
class SmokeTypeCount:
    firm_type: str = strawberry.field(metadata=classified("public"))
    firm_type_name: str | None = strawberry.field(metadata=classified("public"))
    firms: int = strawberry.field(metadata=classified("public"))
    watched: int | None = strawberry.field(description=WITHHELD, metadata=classified("public"))


@strawberry.type(description="Counts of the latest scoring run over the firms you may see")
class SmokeIndexStats:
    run: str | None = strawberry.field(metadata=classified("public"))
    scored_at: datetime | None = strawberry.field(metadata=classified("public"))
    firms: int = strawberry.field(metadata=classified("public"))
    watched: int | None = strawberry.field(description=WITHHELD, metadata=classified("public"))
    by_level: list[SmokeLevelCount] = strawberry.field(metadata=classified("public"))
    by_type: list[SmokeTypeCount] = strawberry.field(
        description="Per firm type, most firms first", metadata=classified("public")
    )
    by_street: list[SmokeAreaCount] = strawberry.field(metadata=classified("public"))
    by_park: list[SmokeAreaCount] = strawberry.field(metadata=classified("public"))
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Groups withheld (counts-only access): levels, types, streets and parks of "
        "fewer firms than the policy's minimum group, and those that would give them away",
        metadata=classified("public"),
    )

    @classmethod
    def of(cls, s: Stats, rule: FigureRule = EXACT) -> SmokeIndexStats:
        """The run's counts as ``rule`` publishes them (``hub.policy.aggregates``: exact, or
        too few firms refused and groups and watched counts below k withheld)."""
        rule.require(s.total, "firms")
        watched = sum(n for lv, n in s.by_level if lv >= SmokeLevel.WATCHED.value)
        levels, gone_levels = rule.publish(s.by_level, lambda lv: lv[1])
        types, gone_types = rule.publish_parts(s.by_type, lambda t: t[2], (lambda t: t[3],))
        streets, gone_streets = rule.publish_parts(s.by_street, _firms, (_watched,))
        parks, gone_parks = rule.publish_parts(s.by_park, _firms, (_watched,))
        return cls(
            run=s.run,
            scored_at=s.scored_at,
            firms=s.total,
            watched=rule.count(watched),
            by_level=[SmokeLevelCount(level=_level(lv), firms=n) for lv, n in levels],
            by_type=[
                SmokeTypeCount(firm_type=t, firm_type_name=name, firms=n, watched=w)
                for (t, name, n, _), (w,) in types
            ],
            by_street=[SmokeAreaCount(name=k, firms=n, watched=w) for (k, n, _), (w,) in streets],
            by_park=[SmokeAreaCount(name=k, firms=n, watched=w) for (k, n, _), (w,) in parks],
            suppressed_groups=gone_levels + gone_types + gone_streets + gone_parks,
        )


def _firms(area: tuple[str, int, int]) -> int:
    return area[1]


def _watched(area: tuple[str, int, int]) -> int:
    return area[2]


@strawberry.type(description="A firm whose score rose by at least the jump threshold")
class SmokeJump:
    firm_key: strawberry.ID = strawberry.field(metadata=classified("public"))
    firm_name: str = strawberry.field(metadata=classified("public"))
    previous_score: float = strawberry.field(metadata=classified("internal"))
    score: float = strawberry.field(metadata=classified("internal"))


@strawberry.type(description="What a scoring run did")
class SmokeIndexRun:
    run: str = strawberry.field(metadata=classified("internal"))
    scored_at: datetime = strawberry.field(metadata=classified("internal"))
    actor: str = strawberry.field(metadata=classified("internal"))
    firms: int = strawberry.field(metadata=classified("internal"))
    watched: int = strawberry.field(metadata=classified("internal"))
    entered_watch_list: int = strawberry.field(metadata=classified("internal"))
    left_watch_list: int = strawberry.field(metadata=classified("internal"))
    jump_points: float = strawberry.field(metadata=classified("internal"))
    jumps: list[SmokeJump] = strawberry.field(metadata=classified("internal"))

    @classmethod
    def of(cls, result: RunResult) -> SmokeIndexRun:
        a = result.run.attrs
        return cls(
            run=result.run.key,
            scored_at=result.run.fetched_at,
            actor=str(a["actor"]),
            firms=int(a["firms"]),
            watched=int(a["watched"]),
            entered_watch_list=int(a["entered"]),
            left_watch_list=int(a["left"]),
            jump_points=float(a["jump_points"]),
            jumps=[
                SmokeJump(
                    firm_key=strawberry.ID(j.firm),
                    firm_name=j.name,
                    previous_score=j.previous,
                    score=j.score,
                )
                for j in result.jumps
            ],
        )
