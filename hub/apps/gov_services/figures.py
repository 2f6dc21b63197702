"""Government services in figures as the policy lets a request have them: exact for a
principal that reads the applications, under the counts-only k rule otherwise
(``hub.policy.aggregates``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.apps.gov_services.services import ApplicationFilter
from hub.policy.aggregates import FigureRule, column

# parts of all applications, each published with its complement (the rest of them)
PARTS = ("online_applications", "decided", "timed", "decided_on_time", "decided_late")


def counted_window(f: ApplicationFilter, rule: FigureRule) -> ApplicationFilter:
    """The filter with its submission window as the rule lets it be counted (whole days)."""
    start, end = rule.window(f.submitted_after, f.submitted_before)
    return replace(f, submitted_after=start, submitted_before=end)


def published(stats: dict[str, Any], apps: FigureRule, items: FigureRule) -> dict[str, Any]:
    """``stats`` (``GovServices.stats``) as published: the applications' figures under
    ``apps`` (too few refused; parts, states, channels and departments below k withheld with
    their complements; a mean over too few withheld), the catalogue's under ``items``."""
    out = dict(stats)
    if not items.exact:
        items.require(stats["items"], "items")
        for name in ("items_online", "items_fully_online"):
            out[name] = items.part(stats[name], stats["items"])
        if out["items_online"] is None:
            out["online_item_rate"] = None
    if apps.exact:
        return out
    total = stats["applications"]
    apps.require(total, "applications")
    for name in PARTS:
        out[name] = apps.part(stats[name], total)
    out["items_served_online"] = apps.count(stats["items_served_online"])
    out["open_overdue"] = apps.part(stats["open_overdue"], total)
    if out["timed"] is None or not apps.enough(stats["timed"]):
        out["average_hours"] = None
    if out["decided_on_time"] is None or out["decided_late"] is None:
        out["on_time_rate"] = None
    out["by_status"], gone_states = apps.publish(stats["by_status"], column("count"))
    out["by_channel"], gone_channels = apps.publish(stats["by_channel"], column("count"))
    departments, gone = apps.publish_parts(
        stats["by_department"], column("applications"), (column("decided"),)
    )
    out["suppressed_groups"] = gone_states + gone_channels + gone
    out["by_department"] = [
        d | {"decided": decided, "average_hours": d["average_hours"] if decided else None}
        for d, (decided,) in departments
    ]
    return out
