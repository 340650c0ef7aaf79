"""Retention soak: months of requests in simulated time; the database's size day by day.

    .venv/bin/python bench/retention_soak.py [--days 150] [--per-day 20000] [--bin .build/release/miners]

Each simulated day adds `--per-day` requests (two miners, three validators, every outcome, 1-6
batches each, as a worker writes them) stamped with that day's times, then runs
`miners retention CONFIG --now <end of day>` with the default horizons (batches 7d, requests
90d, rollups forever). Prints the file size (database and WAL) every 10 days and at the end,
with the rows of each table. The pass condition: the size stops growing once the oldest raw
rows pass their horizon (day 90), save for the rollups (a few KB a day). Not part of the test run.
"""
import argparse
import os
import random
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

DAY = 86_400
OUTCOMES = ["complete"] * 6 + ["partial_timeout", "empty_timeout", "stream_error", "rejected"]


def add_day(db, rng, start, count):
    step = DAY / count
    for i in range(count):
        at = start + i * step + rng.random() * step
        worker = rng.choice(("m1", "m2"))
        outcome = rng.choice(OUTCOMES)
        ttfb = None if outcome in ("empty_timeout", "stream_error", "rejected") else 0.05 + rng.random() * 2
        sizes = [] if ttfb is None else [rng.randint(1, 12) for _ in range(rng.randint(1, 6))]
        cursor = db.execute(
            """INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, dendrite_ip,
                   dendrite_version, uuid, nonce, timeout, received_at, first_batch_at, finished_at, outcome, status, reason,
                   batches, items_sent, bytes_sent, items_generated, items_unsent, final_answer_sent, queue_wait_s, largest_batch,
                   batch_span_s)
               VALUES (?, ?, 'StreameinsteinSynapse', 'openai', 4, ?, '10.0.0.7', 1050, ?, ?, 12, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0,
                   ?, 0.001, ?, ?)""",
            (worker, "5Fake" + worker, None if outcome == "rejected" else rng.choice(("v1", "v2", "v3")),
             f"{rng.getrandbits(128):032x}", int(at * 1e9), at, None if ttfb is None else at + ttfb, at + 4, outcome,
             401 if outcome == "rejected" else 200, "stale_nonce" if outcome == "rejected" else None, len(sizes), sum(sizes),
             4 * sum(sizes), sum(sizes), int(outcome == "complete"), max(sizes, default=0), 0.2 * max(len(sizes) - 1, 0)))
        db.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, 0)",
                       [(cursor.lastrowid, seq, ttfb + seq * 0.2, size, 4 * size) for seq, size in enumerate(sizes)])


def size(path):
    return sum(os.path.getsize(p) for p in (path, Path(str(path) + "-wal")) if os.path.exists(p))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--bin", default=".build/release/miners")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="retention-soak-"))
    database = work / "log.sqlite"
    config = work / "miners.yaml"
    config.write_text(f"database: {database}\nminers:\n  - name: m1\n    hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n"
                      "    port: 9999\n    backend: {kind: mock}\n")
    subprocess.run([args.bin, "migrate", "--db", str(database)], check=True, capture_output=True)
    rng = random.Random(35)
    start = 1_790_812_800  # 2026-10-01
    print(f"{'day':>4} {'size MiB':>9} {'requests':>9} {'batches':>9} {'rollups':>8} {'round s':>8}")
    for day in range(args.days):
        with sqlite3.connect(database) as db:
            add_day(db, rng, start + day * DAY, args.per_day)
        began = time.monotonic()
        subprocess.run([args.bin, "retention", str(config), "--now", str(start + (day + 1) * DAY)], check=True, capture_output=True)
        took = time.monotonic() - began
        if (day + 1) % 10 == 0 or day + 1 == args.days:
            with sqlite3.connect(database) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("requests", "batches", "request_rollups")]
            print(f"{day + 1:>4} {size(database) / 2**20:>9.1f} {counts[0]:>9} {counts[1]:>9} {counts[2]:>8} {took:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
