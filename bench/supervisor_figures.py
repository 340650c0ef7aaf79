"""Supervisor figures: start-up time of 16 workers, restart latency after kill -9, memory.

    .venv/bin/python bench/supervisor_figures.py [--workers 16] [--bin .build/release/miners]

Loopback only; bounded (one start, five kills, one stop). Not part of the test run.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
from interop_support import HOTKEYS, free_port, query  # noqa: E402


def status(binary, config):
    out = subprocess.run([binary, "status", "--config", config, "--json"], capture_output=True, text=True)
    data = json.loads(out.stdout) if out.returncode == 0 else {}
    return {row["miner"]["name"]: row["miner"] for row in data.get("miners", [])} if data.get("supervisor") else {}


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/release/miners"))
    args = parser.parse_args()
    names = [f"m{i:02d}" for i in range(args.workers)]
    with tempfile.TemporaryDirectory() as tmp:
        config = f"{tmp}/bench.yaml"
        lines = [f"database: {tmp}/bench.sqlite", "defaults: {backend: {kind: mock}}", "miners:"]
        lines += [f"  - {{name: {n}, hotkey: {HOTKEYS[i]}, port: {free_port()}}}" for i, n in enumerate(names)]
        Path(config).write_text("\n".join(lines) + "\n")

        started = time.monotonic()
        supervisor = subprocess.Popen([args.bin, "supervise", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            miners = status(args.bin, config)
            if len(miners) == len(names) and all(m["state"] == "running" for m in miners.values()):
                break
            if time.monotonic() - started > 60:
                raise SystemExit("workers did not start within 60 s")
            time.sleep(0.01)
        startup = time.monotonic() - started
        worker_rss = [rss_kib(m["pid"]) for m in miners.values()]
        supervisor_rss = rss_kib(supervisor.pid)

        latencies = []
        for name in names[:5]:
            old = status(args.bin, config)[name]["pid"]
            killed = time.monotonic()
            os.kill(old, signal.SIGKILL)
            while True:
                miner = status(args.bin, config).get(name, {})
                if miner.get("state") == "running" and miner.get("pid") != old:
                    break
                time.sleep(0.005)
            latencies.append(time.monotonic() - killed)
        stopping = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=60)
        stop = time.monotonic() - stopping
        backoffs = [r[0] for r in query(f"{tmp}/bench.sqlite", "select backoff_s from lifecycle where event = 'backoff'")]

    print(f"start-up of {len(names)} workers (supervisor start to all listening, via miners status): {startup:.2f} s")
    print(f"restart after kill -9 (kill to new worker listening), 5 kills: median {statistics.median(latencies):.3f} s, "
          f"max {max(latencies):.3f} s; of which backoff (0.5 s ±20 %): median {statistics.median(backoffs):.3f} s")
    print(f"memory: worker RSS median {statistics.median(worker_rss) / 1024:.1f} MiB (max {max(worker_rss) / 1024:.1f}), "
          f"supervisor {supervisor_rss / 1024:.1f} MiB")
    print(f"graceful stop of {len(names)} idle workers: {stop:.2f} s")


if __name__ == "__main__":
    main()
