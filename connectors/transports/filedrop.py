"""A watched drop folder: CSV, XLSX and GeoJSON files a system exports on its own schedule.

The stream is a file-name pattern (``hazchem_firms_*.xlsx``). The cursor remembers each
file's SHA-256: a pull reads only files that are new or whose content changed, in name order,
and a file half-written (``*.tmp``, ``*.part``) is never matched by a stream pattern.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from connectors.errors import SourceProtocolError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page, Transport


def read_csv(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    return [dict(row) for row in csv.DictReader(io.StringIO(text))]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def read_xlsx(data: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(rows, ())]
        out = []
        for values in rows:
            if all(v is None for v in values):
                continue
            out.append({h: _cell(v) for h, v in zip(header, values, strict=False) if h})
        return out
    finally:
        book.close()


def read_geojson(data: bytes) -> list[dict[str, Any]]:
    body = json.loads(data.decode("utf-8"))
    if body.get("type") != "FeatureCollection":
        raise SourceProtocolError("GeoJSON drop is not a FeatureCollection")
    return [
        {**(f.get("properties") or {}), "geometry": f.get("geometry")} for f in body["features"]
    ]


READERS = {".csv": read_csv, ".xlsx": read_xlsx, ".geojson": read_geojson, ".json": read_geojson}


class FileDropTransport(Transport):
    protocol = "filedrop"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder)

    async def check(self) -> None:
        if not self.folder.is_dir():
            raise SourceUnavailable(f"drop folder {self.folder} does not exist (share not mounted)")

    def _read(self, path: Path) -> tuple[str, list[dict[str, Any]]]:
        data = path.read_bytes()
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise SourceProtocolError(f"{path.name}: no reader for {path.suffix} files")
        try:
            rows = reader(data)
        except (ValueError, KeyError, OSError) as exc:
            raise SourceProtocolError(f"{path.name}: unreadable: {exc}") from None
        for number, row in enumerate(rows, start=2):
            row.setdefault("__file", path.name)
            row.setdefault("__line", number)
        return hashlib.sha256(data).hexdigest(), rows

    async def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        await self.check()
        seen: dict[str, str] = dict(cursor) if isinstance(cursor, dict) else {}
        for path in sorted(self.folder.glob(mapping.stream)):
            if not path.is_file() or path.suffix in (".part", ".tmp"):
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if seen.get(path.name) == digest:
                continue
            digest, rows = await asyncio.to_thread(self._read, path)
            seen[path.name] = digest
            yield Page(rows, dict(seen))
