"""The statistics bureau's GraphQL API (strawberry): a Relay connection of yearly figures."""

from typing import Any

import strawberry

from connectors.mapping import parse_time

_ROWS: dict[int, list[dict[str, Any]]] = {}


@strawberry.type
class Statistic:
    id: str
    recordNo: str
    subjectType: str
    subjectName: str | None
    creditCode: str | None
    park: str | None
    period: str
    revenue: float | None
    taxPaid: float | None
    output: float | None
    employees: int | None
    industry: str | None
    updatedAt: str


_NAMES = tuple(Statistic.__annotations__)


@strawberry.type
class StatisticEdge:
    node: Statistic
    cursor: str


@strawberry.type
class PageInfo:
    hasNextPage: bool
    endCursor: str | None


@strawberry.type
class StatisticConnection:
    edges: list[StatisticEdge]
    pageInfo: PageInfo
    totalCount: int


def _rows(info: strawberry.Info) -> list[dict[str, Any]]:
    return info.context["rows"]  # type: ignore[no-any-return]


@strawberry.type
class Query:
    @strawberry.field
    def statistics(
        self,
        info: strawberry.Info,
        first: int = 100,
        after: str | None = None,
        updatedSince: str | None = None,
    ) -> StatisticConnection:
        rows = _rows(info)
        start_time = parse_time(updatedSince) if updatedSince else None
        if start_time is not None:
            rows = [r for r in rows if (t := parse_time(r.get("updatedAt"))) and t >= start_time]
        start = int(after) if after else 0
        chunk = rows[start : start + min(first, 1000)]
        edges = [
            StatisticEdge(
                node=Statistic(**{k: r.get(k) for k in _NAMES}),  # type: ignore[arg-type]
                cursor=str(start + i + 1),
            )
            for i, r in enumerate(chunk)
        ]
        end = start + len(chunk)
        return StatisticConnection(
            edges=edges,
            pageInfo=PageInfo(hasNextPage=end < len(rows), endCursor=str(end)),
            totalCount=len(rows),
        )


schema = strawberry.Schema(query=Query)
