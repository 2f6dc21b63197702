"""``python -m bench [--quick] [--only NAME ...]``: the core_ext kernels (grid, points, smoke,
datums — bench.core_ext_bench) and the hub-level benchmarks named in ``HUB_BENCHES``, each a
module whose ``main(quick: bool) -> int`` prints its figures and their baselines."""

import importlib
import sys

from bench.core_ext_bench import main as core_main

CORE = ("grid", "points", "smoke", "datums")
# name -> module; each measures against its baseline in the same run
HUB_BENCHES: dict[str, str] = {
    "policy": "bench.policy_overhead",
    "dispatch": "bench.dispatch_latency",
    "ingest": "bench.telemetry_ingest",
    "dashboard": "bench.dashboard_query",
    "feed": "bench.feed_lag",
    "durability": "bench.durability",
    "pii": "bench.pii",
    "search": "bench.search_scan",
    "living": "bench.living_load",
}


def _dispatch(argv: list[str]) -> int:
    quick = "--quick" in argv
    only = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--only"]
    unknown = [n for n in only if n not in CORE and n not in HUB_BENCHES]
    if unknown:
        names = ", ".join([*CORE, *HUB_BENCHES])
        print(f"python -m bench: unknown {unknown[0]!r} (one of {names})", file=sys.stderr)
        return 2
    core = [n for n in only if n in CORE]
    hub = [n for n in only if n in HUB_BENCHES] if only else list(HUB_BENCHES)
    status = 0
    if core or not only:
        core_argv = ["--quick"] if quick else []
        for name in core:
            core_argv += ["--only", name]
        status = core_main(core_argv)
    for name in hub:
        status = status or importlib.import_module(HUB_BENCHES[name]).main(quick)
    return status


raise SystemExit(_dispatch(sys.argv[1:]))
