"""Honest signed requests under a connection flood: how many get 200.

    MINERS_BIN=.build/debug/miners .venv/bin/python bench/connection_flood.py [--runs 3]

For each scenario, a fresh `miners worker` (default limits: 1024 connections, 64 per address,
header_timeout 10 s), flood_client.py holding 1024 (or 3000) idle connections and reopening each
one the worker closes, then 25 signed requests one after another (13 on new connections, 12 on one
kept-alive session) while the flood goes on. Bounded: each flood stops after 40 s at most.
Not part of the test run.
"""
import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
import test_flood  # noqa: E402
from interop_support import wait_until  # noqa: E402
from test_dendrite import Worker  # noqa: E402

SCENARIOS = [
    # (name, flood sources, flood sockets, connections the worker holds of them, honest source)
    ("1024 sockets from one address, validator elsewhere", "127.0.0.1", 1024, 64, "127.0.0.251"),
    ("1024 sockets from one address, validator on the flood's address", "127.0.0.1", 1024, 64, "127.0.0.1"),
    ("1024 sockets from 249 addresses, validator elsewhere", "127.0.0.2-127.0.0.250", 1024, 1000, "127.0.0.1"),
    ("3000 sockets from 249 addresses, validator elsewhere", "127.0.0.2-127.0.0.250", 3000, 1000, "127.0.0.1"),
]


def run(scenario):
    name, sources, size, held, honest_from = scenario
    tmp = Path(tempfile.mkdtemp(prefix="flood-bench-"))
    (tmp / "config.yaml").write_text(test_flood.CONFIG)
    worker = Worker(tmp, "many_addresses", hotkey=test_flood.KEYS["many_addresses"])
    try:
        baseline = test_flood.descriptors(worker)
        with test_flood.Flood(worker.port, sources=sources, size=size) as flood:
            wait_until(lambda: test_flood.descriptors(worker) - baseline >= held, timeout=20)
            time.sleep(3)
            started = time.monotonic()
            results = asyncio.run(test_flood.honest_requests(worker.port, worker.hotkey, source=honest_from))
            elapsed = time.monotonic() - started
        seconds = sorted(s for _, s in results)
        ok = sum(status == 200 for status, _ in results)
        return ok, len(results), elapsed, seconds[len(seconds) // 2], seconds[-1], flood.stats
    finally:
        worker.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| flood | honest requests with 200, per run | p50 / max latency | flood connections opened in the run |")
    print("|---|---|---|---|")
    for scenario in SCENARIOS:
        runs = [run(scenario) for _ in range(args.runs)]
        oks = ", ".join(f"{ok}/{total}" for ok, total, *_ in runs)
        latency = ", ".join(f"{p50 * 1000:.0f} / {worst * 1000:.0f} ms" for *_, p50, worst, _ in runs)
        opened = ", ".join(str(stats["opened"]) if stats else "?" for *_, stats in runs)
        print(f"| {scenario[0]} | {oks} | {latency} | {opened} |", flush=True)


if __name__ == "__main__":
    main()
