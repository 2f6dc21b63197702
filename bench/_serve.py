"""A server for the HTTP benchmarks, in a child process so that the load generator does not
share its GIL: uvicorn, one worker, on 127.0.0.1 only. The child stops by itself after
``max_seconds`` or as soon as its parent is gone; the parent also stops it on leaving the
``with`` block.

Child: ``python -m bench._serve MODULE:FACTORY PORT MAX_SECONDS PARENT_PID`` (the factory
takes no arguments and reads its configuration from the environment).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


@contextmanager
def served_process(
    factory: str, env: Mapping[str, str], max_seconds: float, start_timeout: float = 60.0
) -> Iterator[str]:
    """``with served_process("pkg.mod:make_app", env, 120) as base:`` — ``base`` is
    ``http://127.0.0.1:PORT``, served by a child process that ends by itself."""
    port = free_port()
    child_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    args = [factory, str(port), str(max_seconds), str(os.getpid())]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench._serve", *args],
            cwd=ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while not _listening(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{factory} did not start:\n{log.read()[-3000:]}")
                time.sleep(0.1)
            yield f"http://{HOST}:{port}"
        except BaseException:
            log.seek(0)
            print(f"{factory} log (tail):\n{log.read()[-3000:]}", file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _child(factory: str, port: int, max_seconds: float, parent: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        factory,
        factory=True,
        host=HOST,
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
    )
    server = uvicorn.Server(config)
    deadline = time.monotonic() + max_seconds

    def watchdog() -> None:
        while not server.should_exit:
            if time.monotonic() > deadline or os.getppid() != parent:
                server.should_exit = True
                break
            time.sleep(0.5)
        time.sleep(15)  # a graceful stop that hangs: end the process anyway
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    server.run()


if __name__ == "__main__":
    name, port_, max_s, parent_ = sys.argv[1:5]
    _child(name, int(port_), float(max_s), int(parent_))
