"""``python -m bench <scenario> [options]`` (or ``./dev bench …``): one command per scenario."""

from __future__ import annotations

import importlib
import sys

SCENARIOS = {
    "dataset": "bench.dataset",
    "refresh": "bench.refresh",
    "floor": "bench.refresh",
    "idle": "bench.idle",
    "busy": "bench.busy",
    "upload": "bench.upload",
    "forwarding": "bench.forwarding",
    "convergence": "bench.convergence",
    "freshness": "bench.freshness",
    "open-streams": "bench.open_streams",
    "many-orgs": "bench.many_orgs",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in SCENARIOS:
        print("usage: python -m bench {" + "|".join(SCENARIOS) + "} [--help]", file=sys.stderr)
        return 2
    name = sys.argv[1]
    module = importlib.import_module(SCENARIOS[name])
    argv = sys.argv[2:]
    if name == "floor":
        argv = ["--floor-only", *argv]
    result: int = module.main(argv)
    return result


if __name__ == "__main__":
    sys.exit(main())
