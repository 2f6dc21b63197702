"""How the serving process shares the interpreter between the event loop and the worker
threads that run the resolvers' CPU-heavy work (``run_in_threadpool``).

Off the loop is not yet out of its way: a worker thread holds the GIL up to the switch
interval (5 ms by default) before the loop may run, and the loop waits behind every busy
thread in turn — and behind the start of each new one, which anyio's pool of 40 spawns while
the loop waits. Measured with the attacks of ``tests/security/test_availability.py`` on a
loaded 2-core machine: /healthz waited 230-1050 ms with the defaults, 70 ms with at most 8
worker threads and a 1 ms switch interval (CPU-bound work gains nothing from more threads than
cores under the GIL; I/O waits release it, so 8 still overlap the store's reads).
"""

from __future__ import annotations

import sys

import anyio.to_thread

WORKER_THREADS = 8
SWITCH_INTERVAL_S = 0.001


def share_the_interpreter() -> None:
    """Call from the running loop (the app's lifespan): the thread pool is the loop's own."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
