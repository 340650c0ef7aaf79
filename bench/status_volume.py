"""How long `miners status` analysis takes on real volumes: 1 million requests and 10 million
batch rows (16 miners, 64 validators, 20 days), generated inside SQLite.

    .venv/bin/python bench/status_volume.py [--requests 1000000] [--bin .build/release/miners] [--db PATH]

Not part of the test run; writes a temporary database of about 1 GB and removes it (with
--db, keeps it at PATH and reuses it on the next run).
"""
import argparse
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/release/miners"))
    parser.add_argument("--db", help="keep the generated database here, and reuse it if it exists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"{tmp}/volume.sqlite"
        if not Path(db).exists():
            generate(args, db)
        counts = sqlite3.connect(db).execute("select (select count(*) from requests), (select count(*) from batches)").fetchone()
        print(f"{counts[0]:,} requests and {counts[1]:,} batches")
        for extra in ([], ["--by", "validator"], ["--by", "miner,batch-size", "--since", "1d"]):
            command = [args.bin, "status", "--db", db, "--json"] + (extra if "--since" in extra else extra + ["--since", "30d"])
            started = time.monotonic()
            subprocess.run(command, check=True, capture_output=True)
            print(f"miners status {' '.join(command[4:])}: {time.monotonic() - started:.2f} s")


def generate(args, db):
    """1 in 10 requests partial, 1 in 10 rejected, 10 batches each, one every 1.7 s."""
    subprocess.run([args.bin, "migrate", "--db", db], check=True, capture_output=True)
    started = time.monotonic()
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"""
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {args.requests - 1})
            INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, uuid, nonce,
                timeout, received_at, first_batch_at, finished_at, outcome, status, reason, batches, items_sent,
                bytes_sent, items_generated, items_unsent, final_answer_sent, largest_batch, batch_span_s)
            SELECT 'm' || (i % 16), 'hk' || (i % 16), 'StreameinsteinSynapse', 'mock', 12, 'v' || (i % 64), 'u' || i,
                   CAST(({now} - i * 1.7) * 1e9 AS INTEGER), 12, {now} - i * 1.7, {now} - i * 1.7 + 0.1 + (i % 7) * 0.05,
                   {now} - i * 1.7 + 1.5,
                   CASE i % 10 WHEN 0 THEN 'partial_timeout' WHEN 1 THEN 'rejected' ELSE 'complete' END,
                   CASE i % 10 WHEN 1 THEN 401 ELSE 200 END, CASE i % 10 WHEN 1 THEN 'stale_nonce' END,
                   10, 120, 600, 130, 10, (i % 10) != 0, 12, 0.9
            FROM n""")
        conn.execute("""
            INSERT INTO batches (request_id, seq, offset_s, items, bytes, final)
            SELECT r.id, k.seq, 0.1 + k.seq * 0.1, 12, 60, k.seq = 9
            FROM requests r,
                 (WITH RECURSIVE k(seq) AS (SELECT 0 UNION ALL SELECT seq + 1 FROM k WHERE seq < 9) SELECT seq FROM k) k""")
    print(f"generated in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
