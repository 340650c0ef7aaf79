"""Soak: one worker under steady load for a bounded time; its memory and open files sampled.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 200] [--bin .build/release/miners]

Starts `miners worker` (mock backend, 40 words, 1 ms per item, batch size 4, request log on),
drives it with `miners simulate` at a steady rate (requests/s, 8 in flight at most, 3 validator
hotkeys), and prints every 30 s: requests so far, RSS, peak RSS, open file descriptors, threads
and the database size. Flat RSS and descriptors after the warm-up are the pass condition.
Not part of the test run.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
TEXT = " ".join(f"word{i}" for i in range(40))


def status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return {"rss_mib": int(fields["VmRSS"].split()[0]) / 1024, "hwm_mib": int(fields["VmHWM"].split()[0]) / 1024,
            "threads": int(fields["Threads"]), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/release/miners"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "soak.yaml"
        config.write_text(f"miners:\n  - {{name: soak, hotkey: {HOTKEY}, port: 1, streaming_batch_size: 4,\n"
                          f"      backend: {{kind: mock, text: \"{TEXT}\", delay_ms: 1}}}}\n")
        db = Path(tmp) / "soak.sqlite"
        worker = subprocess.Popen([args.bin, "worker", "--config", str(config), "--miner", "soak", "--port", "0",
                                   "--db", str(db), "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
        port = int(worker.stdout.readline().rsplit(":", 1)[1])
        print(f"worker pid {worker.pid} on port {port}; {args.minutes} min at {args.rate:.0f} requests/s")
        print(f"{'min':>5} {'requests':>9} {'non-200':>8} {'RSS MiB':>8} {'peak':>6} {'fds':>4} {'threads':>7} {'db MiB':>7}")
        started, done, bad = time.monotonic(), 0, 0
        end = started + args.minutes * 60
        next_sample = started
        try:
            while time.monotonic() < end:
                chunk = int(args.rate * 30)  # 30 s of load per simulator run
                out = subprocess.run([args.bin, "simulate", "--port", str(port), "--hotkey", HOTKEY,
                                      "--requests", str(chunk), "--rate", str(args.rate), "--concurrency", "8",
                                      "--validators", "3", "--timeout", "10", "--max-duration", "40", "--json"],
                                     capture_output=True, text=True, timeout=120)
                summary = json.loads(out.stdout)
                done += summary["requests"]
                bad += summary["requests"] - summary["statuses"].get("200", 0)
                if time.monotonic() >= next_sample:
                    s = status(worker.pid)
                    print(f"{(time.monotonic() - started) / 60:5.1f} {done:9d} {bad:8d} {s['rss_mib']:8.1f} "
                          f"{s['hwm_mib']:6.1f} {s['fds']:4d} {s['threads']:7d} {db.stat().st_size / 2**20:7.1f}", flush=True)
                    next_sample += 30
        finally:
            worker.terminate()
            worker.wait(timeout=30)


if __name__ == "__main__":
    main()
