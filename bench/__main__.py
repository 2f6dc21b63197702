"""``python -m bench [--quick] [--only grid|points|smoke|datums|policy ...]``: the core_ext
benchmarks, and ``--only policy`` for the policy-enforcement overhead (bench.policy_overhead)."""

import sys

from bench.core_ext_bench import main


def _dispatch(argv: list[str]) -> int:
    only = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--only"]
    quick = "--quick" in argv
    if "policy" not in only:
        return main(argv)
    from bench.policy_overhead import main as policy_main

    rest: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--only" and i + 1 < len(argv) and argv[i + 1] == "policy":
            skip = True
            continue
        rest.append(arg)
    status = main(rest) if "--only" in rest else 0
    return status or policy_main(quick)


raise SystemExit(_dispatch(sys.argv[1:]))
