"""Mappings, validation, the circuit breaker and the live pass-through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shapely.geometry import box

from connectors.errors import CircuitOpen, MappingError, SourceUnavailable
from connectors.mapping import KindMapping, camel, snake
from connectors.passthrough import CircuitBreaker, LivePassThrough, TTLCache
from connectors.validate import RecordValidator

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FIRMS = KindMapping(
    kind="Enterprise", stream="t", key="nbxh", source_id="tyshxydm",
    fields={"qymc": "name", "tyshxydm": "uscc", "zczb": "capital:float", "fw": "scope:json"},
    point=("jd", "wd"), required=("name",),
)  # fmt: skip


def test_mapping_renames_coerces_and_places() -> None:
    row = {"nbxh": "ENT-1", "tyshxydm": "91120116MA05BBJ537", "qymc": "天津银昊融资租赁有限公司",
           "zczb": "9100.5", "fw": '["租赁"]', "jd": "117.7", "wd": 39.0, "extra": 1}  # fmt: skip
    record = FIRMS.to_record(row, "market-registry", NOW)
    assert record.key == "ENT-1" and record.source_id == "91120116MA05BBJ537"
    assert record.attrs == {"name": "天津银昊融资租赁有限公司", "uscc": "91120116MA05BBJ537",
                            "capital": 9100.5, "scope": ["租赁"]}  # fmt: skip
    assert record.geometry == {"type": "Point", "coordinates": [117.7, 39.0]}
    assert record.datum == "GCJ-02"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"qymc": " "}, "missing required field 'name' (qymc)"),
        ({"nbxh": None}, "missing key field 'nbxh'"),
        ({"zczb": "待补充"}, "field 'zczb': not a valid float: '待补充'"),
        ({"jd": "东经"}, "coordinates (jd, wd) are not numbers"),
    ],
)
def test_mapping_refuses_with_a_reason(change: dict[str, object], reason: str) -> None:
    row = {"nbxh": "ENT-1", "tyshxydm": "X", "qymc": "某公司", "jd": 117.7, "wd": 39.0, **change}
    with pytest.raises(MappingError) as caught:
        FIRMS.to_record(row, "market-registry", NOW)
    assert str(caught.value).startswith(reason)


def test_camel_case_round_trip_and_rest_fields() -> None:
    for name in ("registered_capital_10k_cny", "dust_pm10_ug_m3", "violations_30d"):
        assert snake(camel(name)) == name
    mapping = KindMapping(kind="Camera", stream="s", key="id", source_id="gbId", fields={},
                          rest="camel")  # fmt: skip
    record = {"key": "CAM-1", "source_id": "G1", "attrs": {"last_heartbeat_at": "x", "ptz": True}}
    row = mapping.to_native(record)
    assert row == {"id": "CAM-1", "gbId": "G1", "lastHeartbeatAt": "x", "ptz": True}
    assert mapping.to_record(row, "cameras", NOW).attrs == record["attrs"]


def test_validator_checks_credit_codes_and_the_area() -> None:
    validator = RecordValidator(box(117.0, 38.5, 118.1, 39.4), tolerance_deg=0.0)
    row = {"nbxh": "E", "tyshxydm": "91120116MA05BBJ537", "qymc": "甲", "jd": 117.7, "wd": 39.0}
    assert validator.reason(FIRMS.to_record(row, "m", NOW)) is None
    bad = FIRMS.to_record({**row, "tyshxydm": "91120116MA05BBJ53X"}, "m", NOW)
    assert "invalid credit code in 'uscc'" in (validator.reason(bad) or "")
    away = FIRMS.to_record({**row, "jd": 116.397, "wd": 39.909}, "m", NOW)
    assert validator.reason(away) == "coordinates outside the district: (116.397, 39.909)"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=10, clock=clock)
    breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 11
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # one trial call only
    breaker.failure()
    assert breaker.state == "open"
    clock.now = 22
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"


async def test_live_pass_through_caches_times_out_and_fails_fast() -> None:
    clock = Clock()
    calls: list[str] = []
    failing = False

    async def fetch(key: str) -> dict[str, str]:
        calls.append(key)
        if failing:
            raise SourceUnavailable("camera platform down")
        return {"id": key, "status": "在线"}

    live = LivePassThrough(
        fetch,
        timeout_s=0.5,
        breaker=CircuitBreaker(2, 30, clock=clock),
        cache=TTLCache(ttl_s=5, clock=clock),
    )
    assert (await live.get("CAM-1")).source == "live"
    assert (await live.get("CAM-1")).source == "cache"
    assert calls == ["CAM-1"]
    failing = True
    clock.now = 6  # cache expired: the stale value is served while the source fails
    assert (await live.get("CAM-1")).source == "stale"
    with pytest.raises(SourceUnavailable):
        await live.get("CAM-2")
    assert live.breaker.state == "open"
    with pytest.raises(CircuitOpen):
        await live.get("CAM-3")
    assert calls == ["CAM-1", "CAM-1", "CAM-2"]  # the open breaker made no call
