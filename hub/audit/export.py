"""Export of the signed checkpoint lines outside the hub (``CITYHUB_AUDIT_EXPORT``).

Whoever can rewrite the data folder can cut the chain's tail and the checkpoint file's
together; a copy elsewhere — a file on other storage, or an HTTP endpoint the lines are
POSTed to (a log collector, a timestamping service) — still holds what was cut, and
``cityhub audit verify --witness COPY`` checks the chain against it.

The exporter sends the checkpoint file's lines after the last one sent (a byte offset kept
next to the file, 0600) and stops at the first failure: the next run (a minute later) tries
again, so a receiver that is down delays lines and loses none. It runs off the event loop,
with a short timeout, under a lock so that workers do not send a line twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

import httpx

from hub.private_files import PRIVATE_FILE, write_private

log = logging.getLogger(__name__)
TIMEOUT_S = 5.0


class ExportError(Exception):
    """The target refused or could not be reached (the line will be sent again later)."""


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


class CheckpointExport:
    def __init__(self, target: str, source: Path, *, timeout: float = TIMEOUT_S) -> None:
        self.target = target
        self.source = source
        self.timeout = timeout
        self.state = source.with_name(source.name + ".exported")

    def _sent_offset(self) -> int:
        try:
            return int(self.state.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def _send(self, line: str) -> None:
        if is_url(self.target):
            try:
                reply = httpx.post(
                    self.target,
                    content=line.encode(),
                    headers={"Content-Type": "application/json"},
                    timeout=self.timeout,
                )
            except httpx.HTTPError as exc:
                raise ExportError(f"{type(exc).__name__}") from None
            if not reply.is_success:
                raise ExportError(f"HTTP {reply.status_code}")
            return
        path = Path(self.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ExportError(exc.strerror or str(exc)) from None

    def push(self) -> int:
        """Send the lines not sent yet; how many were sent. Never raises for the target's
        failures (logged, retried at the next push)."""
        if not self.source.exists():
            return 0
        lock = os.open(
            self.state.with_name(self.state.name + ".lock"), os.O_RDWR | os.O_CREAT, PRIVATE_FILE
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self.source.read_bytes()
            offset = self._sent_offset()
            if offset > len(data):
                # the file is shorter than what was sent: someone cut it; the copy outside
                # keeps what was cut — send what is there now from its start
                log.error("audit checkpoints: %s is shorter than what was exported", self.source)
                offset = 0
            sent = 0
            while True:
                end = data.find(b"\n", offset)
                if end < 0:
                    break
                line = data[offset:end].decode().strip()
                if line:
                    try:
                        self._send(line)
                    except ExportError as exc:
                        log.warning(
                            "audit checkpoint export to %s failed (%s): retrying later",
                            _shown(self.target),
                            exc,
                        )
                        break
                    sent += 1
                offset = end + 1
                write_private(self.state, f"{offset}\n".encode())
            return sent
        finally:
            os.close(lock)


def _shown(target: str) -> str:
    """The target without credentials or query string, for logs."""
    if not is_url(target):
        return target
    url = httpx.URL(target)
    return f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path}"
