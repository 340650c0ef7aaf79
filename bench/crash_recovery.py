"""Time from a worker crash to the miner serving again, under `miners supervise`.

    .venv/bin/python bench/crash_recovery.py [--rounds 5] [--signal SEGV] [--bin .build/debug/miners]
    .venv/bin/python bench/crash_recovery.py --with-backtracer   # what Swift's backtracer would cost

Each round crashes the worker (a signal sent from outside, as a fault would raise it) and
measures, polling every 5 ms: the process gone, its port free, and the first signed request
answered 200 with the whole answer by the new worker. The backoff (0.5 s ±20 %: each crash comes
after a run of at least `min_uptime`, set to 1 s here) is part of the last figure and is reported
separately. `--with-backtracer` runs one round with Swift's
backtracer on in the worker (SWIFT_BACKTRACE in the supervisor's environment, which the
workers then inherit) and reports how long its crash report holds the worker.

Loopback only; bounded: at most --rounds crashes (default 5, at most 20) and 60 s per round.
"""
import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
from interop_support import HOTKEYS, free_port, pid_alive, port_is_free, query, question, raw_stream  # noqa: E402

def alive(pid):
    """As interop_support.pid_alive, but a process that ends while /proc is read counts as gone."""
    try:
        return pid_alive(pid)
    except OSError:
        return False


TEXT = " ".join(f"w{i}" for i in range(40))
ROUND_LIMIT = 60.0


def status(binary, config):
    import json
    out = subprocess.run([binary, "status", "--config", config, "--json"], capture_output=True, text=True)
    data = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else {}
    return {row["miner"]["name"]: row["miner"] for row in data.get("miners", [])} if data.get("supervisor") else {}


def wait_for(condition, limit, interval=0.005):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(interval)
    raise SystemExit(f"gave up after {limit} s")


async def first_answer(port, since, limit):
    """Seconds from `since` to the first complete 200 answer on `port`."""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - since < limit:
            try:
                code, chunks = await raw_stream(session, port, HOTKEYS[0], question("1+1"), timeout=5)
                if code == 200 and "".join(chunks) == TEXT:
                    return time.monotonic() - since
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                pass
            await asyncio.sleep(0.005)
    raise SystemExit(f"not serving {limit} s after the crash")


def start(binary, tmp, port, env):
    config = f"{tmp}/bench.yaml"
    Path(config).write_text("\n".join([
        f"database: {tmp}/bench.sqlite",
        "miners:",
        f"  - {{name: a, hotkey: {HOTKEYS[0]}, port: {port}, backend: {{kind: mock, text: \"{TEXT}\"}},",
        # Each crash comes after a run of at least min_uptime, so every restart waits the first
        # backoff (0.5 s), as a crash after a long run does, not a doubled one; and never count as
        # a crash loop.
        "      restart: {min_uptime: 1, max_restarts: 100}}",
    ]) + "\n")
    proc = subprocess.Popen([binary, "supervise", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_for(lambda: status(binary, config).get("a", {}).get("state") == "running", 60, interval=0.05)
    return proc, config


def rounds(binary, count, crash):
    gone, freed, serving = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "SWIFT_BACKTRACE"}
        proc, config = start(binary, tmp, port, env)
        try:
            for _ in range(count):
                miner = status(binary, config)["a"]
                pid = miner["pid"]
                asyncio.run(first_answer(port, time.monotonic(), 10))  # warm, and surely serving
                time.sleep(max(0.0, miner["startedAt"] + 1.2 - time.time()))
                killed = time.monotonic()
                os.kill(pid, crash)
                gone.append(wait_for(lambda: not alive(pid), ROUND_LIMIT) - killed)
                freed.append(wait_for(lambda: port_is_free(port), ROUND_LIMIT) - killed)
                serving.append(asyncio.run(first_answer(port, killed, ROUND_LIMIT)))
                # The next round needs the supervisor's view of the new worker.
                wait_for(lambda: (m := status(binary, config).get("a", {})).get("state") == "running" and m.get("pid") != pid,
                         ROUND_LIMIT, interval=0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        backoffs = [r[0] for r in query(f"{tmp}/bench.sqlite", "select backoff_s from lifecycle where event = 'backoff'")]
    return gone, freed, serving, backoffs


def with_backtracer(binary, crash):
    """One crash with the backtracer on: seconds until its report is written."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = dict(os.environ, SWIFT_BACKTRACE="enable=yes,interactive=no")
        proc, config = start(binary, tmp, port, env)
        try:
            pid = status(binary, config)["a"]["pid"]
            log = Path(f"{tmp}/logs/a.log")
            killed = time.monotonic()
            os.kill(pid, crash)
            reported = wait_for(lambda: "Backtrace took" in log.read_text(errors="replace"), ROUND_LIMIT, interval=0.01) - killed
            # A signal from outside is only reported: the worker would run on. End it.
            still_there = alive(pid)
            if still_there:
                os.kill(pid, signal.SIGKILL)
            return reported, still_there
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def ms(values):
    return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--signal", default="SEGV", choices=["SEGV", "ABRT", "ILL", "BUS", "FPE", "TRAP"])
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/debug/miners"))
    parser.add_argument("--with-backtracer", action="store_true")
    args = parser.parse_args()
    crash = getattr(signal, f"SIG{args.signal}")
    if args.with_backtracer:
        reported, ran_on = with_backtracer(args.bin, crash)
        print(f"with Swift's backtracer on: SIG{args.signal} reported after {reported:.2f} s; "
              f"{'the worker then ran on (a signal from outside is not re-raised)' if ran_on else 'the worker then died'}")
        return
    gone, freed, serving, backoffs = rounds(args.bin, max(1, min(args.rounds, 20)), crash)
    print(f"{len(gone)} crashes by SIG{args.signal} ({args.bin}):")
    print(f"  worker gone:         {ms(gone)}")
    print(f"  port free:           {ms(freed)}")
    print(f"  serving again (200): {ms(serving)}")
    print(f"  of which backoff:    median {statistics.median(backoffs) * 1000:.0f} ms (0.5 s ±20 %)")


if __name__ == "__main__":
    main()
