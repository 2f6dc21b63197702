"""Files only the hub's own user may read: the data folder 0700, secrets and stores 0600.

The data folder holds the store (with the sealed signing keys), the secret key, the audit key
and the sandbox's webhook secrets. The hub sets a umask of 077 as it starts, and tightens what
an older hub left wider; SQLite files are made 0600 before SQLite opens them, because SQLite
gives a database's -wal and -shm files the database file's own mode.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_umask() -> None:
    """Everything this process creates from now on is its user's alone."""
    os.umask(0o077)


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Create ``path`` (and parents) 0700; ``tighten`` also narrows an existing folder."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if tighten:
        with contextlib.suppress(PermissionError):  # not ours: leave it, the files are 0600
            path.chmod(PRIVATE_DIR)
    return path


def make_private(path: Path) -> None:
    """0600 for an existing file (one an older hub or another tool made wider)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_FILE)


def create_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file ``path``, mode 0600, unless the file exists; True when this
    call created it. Atomic: the content is written to a temporary file and hard-linked into
    place, so two processes starting at once agree on one file and nobody reads a half-written
    one."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive create instead
            return _create_exclusive(path, data)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _create_exclusive(path: Path, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600 (for files rewritten in place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other engines and in-memory databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def private_sqlite(url: str) -> None:
    """Make a SQLite database and its companions 0600; an absent database file is created
    empty (a valid empty database) with that mode, so its -wal and -shm follow it."""
    path = sqlite_path(url)
    if path is None or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError, PermissionError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for name in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        make_private(name)
