"""Each simulated system's slice of the demo city, in that system's own native shape.

The demo city (generated from the seed) plus :mod:`simcity.sandbox.extra` give hub-shaped
records per system; each connector declaration's mapping renders them the way the system
stores them (pinyin columns, Chinese spreadsheet headers, camelCase JSON, ...). Then the
imperfections of real sources are added, deterministically: missing values, duplicate rows,
invalid rows (bad credit codes, coordinates outside the district, missing required fields,
unreadable numbers), and the name variants the extra systems already use.
"""

from __future__ import annotations

import copy
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from connectors.binhai import SPEC_BY_ID
from connectors.binhai.spec import ConnectorSpec
from connectors.mapping import KindMapping
from schema.uscc import ALPHABET
from simcity.binhai.context import derive_seed
from simcity.binhai.systems import SYSTEMS
from simcity.sandbox.extra import build_extra
from simcity.sandbox.relative import placed

Row = dict[str, Any]


@dataclass
class SystemData:
    spec: ConnectorSpec
    streams: dict[str, list[Row]] = field(default_factory=dict)  # mapping.stream → rows
    flaws: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def system(self) -> str:
        return self.spec.system

    def mapping(self, stream: str) -> KindMapping:
        return next(m for m in self.spec.mappings if m.stream == stream)


def read_city(folder: Path) -> dict[str, list[Row]]:
    city: dict[str, list[Row]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            city[path.stem] = [json.loads(line) for line in lines if line.strip()]
    return city


def native(mapping: KindMapping, record: Row) -> Row:
    row = mapping.to_native(record)
    if mapping.updated_at and row.get(mapping.updated_at) is None:
        # the record's update time, unless the cursor field is an attribute of its own (a
        # sensor's last reading time), which the system states as it is
        row[mapping.updated_at] = record.get("updated_at") or record["fetched_at"]
    return row


def bad_uscc(code: str) -> str:
    """The same code with a wrong check character (what a typo in the last digit gives)."""
    last = ALPHABET[(ALPHABET.index(code[-1]) + 7) % len(ALPHABET)]
    return code[:-1] + last


def build(
    seed: int, city: dict[str, list[Row]], shift: timedelta = timedelta(0)
) -> dict[str, SystemData]:
    """Every system's rows, their dates moved by ``shift`` (the running city's clock start
    minus the generator's ``BASE_TIME``)."""
    by_system: dict[str, list[Row]] = defaultdict(list)
    for kind, records in city.items():
        if kind == "SourceSystem":
            continue  # systems describe themselves through their connectors
        for record in records:
            by_system[record["source_system"]].append(placed(record, shift))
    for system, records in build_extra(seed, city).items():
        by_system[system].extend(placed(r, shift) for r in records)
    out: dict[str, SystemData] = {}
    for s in SYSTEMS:
        spec = SPEC_BY_ID[s.id]
        data = SystemData(spec)
        for mapping in spec.mappings:
            rows = [native(mapping, r) for r in by_system[s.id] if r["kind"] == mapping.kind]
            data.streams[mapping.stream] = rows
        out[s.id] = data
    _imperfect(seed, out)
    return out


def _imperfect(seed: int, systems: dict[str, SystemData]) -> None:
    rng = random.Random(derive_seed(seed, "sandbox/imperfections"))

    def stream(system: str, kind: str) -> tuple[SystemData, KindMapping, list[Row]]:
        data = systems[system]
        mapping = next(m for m in data.spec.mappings if m.kind == kind)
        return data, mapping, data.streams[mapping.stream]

    def extras(rows: list[Row], n: int, mapping: KindMapping, tag: str) -> list[Row]:
        picked = [copy.deepcopy(r) for r in rng.sample(rows, n)]
        for i, row in enumerate(picked, start=1):
            row[mapping.key] = f"{str(row[mapping.key])[:40]}-{tag}{i}"
            row[mapping.source_id] = f"{row[mapping.source_id]}-{tag}{i}"
        rows.extend(picked)
        return picked

    # Market registry: phones missing, duplicate rows, typos in credit codes.
    data, m, rows = stream("market-registry", "Enterprise")
    for row in rng.sample(rows, len(rows) // 30):
        row["lxdh"] = None
        data.flaws["missing phone"] += 1
    for row in rng.sample(rows, 15):
        rows.append(dict(row))
        data.flaws["duplicate rows"] += 1
    for row in extras(rows, 12, m, "X"):
        row["tyshxydm"] = bad_uscc(row["tyshxydm"])
        data.flaws["bad credit code"] += 1

    data, m, rows = stream("finance-registry", "FinanceFirm")
    for row in rows[1::40]:
        row["address"] = None
        data.flaws["missing address"] += 1
    for row in rng.sample(rows, 10):
        rows.append(dict(row))
        data.flaws["duplicate rows"] += 1
    for row in extras(rows, 5, m, "X"):
        row["creditCode"] = bad_uscc(row["creditCode"])
        data.flaws["bad credit code"] += 1
    for row in extras(rows, 3, m, "N"):
        row["firmName"] = ""
        data.flaws["missing name"] += 1

    data, m, rows = stream("law-enforcement", "EnforcementCase")
    for row in extras(rows, 6, m, "X"):
        row["dsrxydm"] = bad_uscc(row["dsrxydm"])
        data.flaws["bad credit code"] += 1

    data, m, rows = stream("cameras", "Camera")
    for i, row in enumerate(extras(rows, 8, m, "G")):
        row["lng"], row["lat"] = (row["lat"], row["lng"]) if i % 2 else (0.0, 0.0)
        data.flaws["coordinates outside the district"] += 1
    for row in rng.sample(rows, 40):
        row.pop("park", None)
        data.flaws["missing park"] += 1

    data, m, rows = stream("vehicle-gps", "HazchemVehicle")
    for row in extras(rows, 6, m, "G"):
        row["lng"], row["lat"] = 116.397, 39.909  # a terminal reporting from Beijing
        data.flaws["coordinates outside the district"] += 1

    data, m, rows = stream("service-hotline", "ServiceCase")
    for row in extras(rows, 5, m, "E"):
        row["content"] = ""
        data.flaws["missing content"] += 1

    data, m, rows = stream("hazchem-registry", "HazchemFirm")
    for row in extras(rows, 3, m, "N"):
        row["企业名称"] = None
        data.flaws["missing name"] += 1

    data, m, rows = stream("complaints", "Complaint")
    for row in extras(rows, 4, m, "E"):
        row["respondentName"] = None
        data.flaws["missing respondent"] += 1

    data, m, rows = stream("population", "Citizen")
    for row in extras(rows, 3, m, "E"):
        row["gmsfhm"] = None
        data.flaws["missing resident id"] += 1
    for row in rng.sample(rows, len(rows) // 50):
        row["lxdh"] = ""
        data.flaws["missing phone"] += 1

    data, m, rows = stream("finance-reports", "FinanceReport")
    for row in extras(rows, 2, m, "E"):
        row["资产总额（万元）"] = "待补充"
        data.flaws["unreadable number"] += 1
