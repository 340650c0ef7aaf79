"""What a flood of unsigned requests costs a miner's disk: one worker, a bounded flood, the growth
of its database and of its log, per refusal.

    .venv/bin/python bench/refusal_flood.py [--seconds 60] [--concurrency 64] [--sources 1]
                                            [--bin .build/debug/miners]

Every request names a real validator's hotkey, carries a forged signature and 3,000-byte uuid
and body-hash headers (the worker's header limit allows 16 KB), from `--sources` loopback
addresses (127.0.0.2, 127.0.0.3, ...). Prints requests refused, rows written, and bytes of
database (+WAL, checkpointed) and of worker log per refusal. Bounded in time and count
(`--seconds`, at most 2,000,000 requests). Not part of the test run.
"""
import argparse
import asyncio
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
VALIDATOR = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


def size(db: Path, log: Path):
    """The database's own size once its WAL is checkpointed into it, and the log's."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [db, db.with_name(db.name + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists()), log.stat().st_size


async def flood(port, seconds, concurrency, sources, limit=2_000_000):
    junk = "x" * 3000
    headers = {"bt_header_dendrite_hotkey": VALIDATOR, "bt_header_dendrite_uuid": junk,
               "bt_header_dendrite_nonce": str(time.time_ns()), "bt_header_dendrite_signature": "0x" + "ab" * 64,
               "computed_body_hash": junk, "timeout": "12", "Content-Type": "application/json"}
    sent, statuses = 0, {}
    deadline = time.monotonic() + seconds

    async def client(index):
        nonlocal sent
        source = f"127.0.0.{2 + index % sources}"
        connector = aiohttp.TCPConnector(limit=1, local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            while time.monotonic() < deadline and sent < limit:
                async with session.post(f"http://127.0.0.1:{port}/StreameinsteinSynapse", data="{}", headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    sent += 1
    await asyncio.gather(*[client(i) for i in range(concurrency)])
    return sent, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sources", type=int, default=1)
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/debug/miners"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db, log = tmp / "flood.sqlite", tmp / "worker.log"
        (tmp / "c.yaml").write_text(f"miners:\n  - {{name: flood, hotkey: {HOTKEY}, port: 1, backend: {{kind: mock}}}}\n")
        with open(log, "w") as out:
            worker = subprocess.Popen([args.bin, "worker", "--config", str(tmp / "c.yaml"), "--miner", "flood",
                                       "--port", "0", "--db", str(db)], stdout=subprocess.PIPE, stderr=out, text=True)
            line = worker.stdout.readline()
            if not line.startswith("listening on "):
                sys.exit(f"the worker did not start: {line!r}")
            port = int(line.rsplit(":", 1)[1])
            time.sleep(1)
            before = size(db, log)
            started = time.monotonic()
            sent, statuses = asyncio.run(flood(port, args.seconds, args.concurrency, args.sources))
            took = time.monotonic() - started
            time.sleep(2.5)  # the last second's rows
            worker.terminate()
            worker.wait(timeout=30)
        grown_db, grown_log = (a - b for a, b in zip(size(db, log), before))
        with sqlite3.connect(db) as conn:
            refused, rows = conn.execute("select coalesce(sum(count), 0), count(*) from requests").fetchone()
        print(f"unsigned flood: {sent} requests in {took:.1f} s ({sent / took:.0f}/s) from {args.sources} address(es), "
              f"statuses {statuses}")
        print(f"rows: {rows} standing for {refused} refusals ({refused / max(rows, 1):.0f} per row)")
        print(f"database +{grown_db / 1024:.0f} KiB = {grown_db / max(sent, 1):.1f} B per refusal; "
              f"worker log +{grown_log / 1024:.0f} KiB = {grown_log / max(sent, 1):.1f} B per refusal")


if __name__ == "__main__":
    main()
