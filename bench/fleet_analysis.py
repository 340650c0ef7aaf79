#!/usr/bin/env python3
"""Fleet analysis benchmark: N synthetic requests over 30 days (5 hosts x 8 miners, 12
validators) loaded into a fresh PostgreSQL database, then `miners status --db postgres://...
--since 30d --by host,miner` timed.

Two ways to load: `--load triggers` goes through the requests/batches INSERT path (the rollup
triggers of migrations/postgres/ fire per statement, --chunk-hours of rows per statement: 1 as a
busy replicator; ~30 k rows/s on 2 cores); `--load bulk` (default, for 100 M rows) inserts a
day of rows with the triggers off (session_replication_role = replica) and then rolls that
day up with the very statements the triggers run (fleet_rollups_sql, fleet_ttfb_sql), which
gives the same rollups (the test suite checks the triggers against the raw rows).

    bench/fleet_analysis.py --url postgres://postgres@127.0.0.1:5433/postgres --rows 10000000

Needs psql and a built miners (.build/release/miners, else .build/debug/miners). The URL's
database is only used to create and drop the benchmark database (fleet_bench by default).
"""
import argparse, os, statistics, subprocess, sys, time, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def psql(url, sql, quiet=True):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return out.stdout.strip()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--database", default="fleet_bench")
    ap.add_argument("--keep", action="store_true", help="reuse the loaded database (skip loading)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--chunk-hours", type=int, default=24, help="hours of rows per INSERT statement")
    ap.add_argument("--load", choices=["bulk", "triggers"], default="bulk")
    ap.add_argument("--miners", help="the miners binary (default .build/release/miners, else .build/debug/miners)")
    ap.add_argument("--migrations-upto", default=None, help="apply migrations/postgres up to this file name (then the rest after loading, timed)")
    args = ap.parse_args()
    parts = urllib.parse.urlsplit(args.url)
    bench = urllib.parse.urlunsplit(parts._replace(path="/" + args.database))
    ap_miners = args.miners
    miners = ap_miners or next((p for p in (f"{ROOT}/.build/release/miners", f"{ROOT}/.build/debug/miners") if os.path.exists(p)), None)
    if not miners:
        sys.exit("build miners first")
    now = time.time() // 3600 * 3600  # hour-aligned: two loads within the hour give the same rows
    start = now - args.days * 86400
    if not args.keep:
        psql(args.url, f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        psql(args.url, f"CREATE DATABASE {args.database}")
        for migration in sorted(os.listdir(f"{ROOT}/migrations/postgres")):
            if args.migrations_upto and migration > args.migrations_upto:
                continue
            subprocess.run(["psql", bench, "-v", "ON_ERROR_STOP=1", "-q", "-f", f"{ROOT}/migrations/postgres/{migration}"], check=True)
        hours = args.days * 24
        per_hour = args.rows // hours
        began = time.time()
        chunk_hours = 24 if args.load == "bulk" else args.chunk_hours
        for hour in range(0, hours, chunk_hours):
            first = hour * per_hour
            t0 = start + hour * 3600
            chunk = per_hour * min(chunk_hours, hours - hour)
            t1 = start + min(hour + chunk_hours, hours) * 3600
            bulk = args.load == "bulk"
            # One statement per hour of the fleet: requests, then the batches over 200 items of
            # one request in twenty (the rest of the batch rows are left out to save disk).
            # A seed per chunk: both ways of loading give the same rows.
            psql(bench, f"SELECT setseed({hour / (hours + 1)});" + ("SET session_replication_role = replica;" if bulk else "") + f"""
                INSERT INTO requests (host, local_id, worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, nonce,
                    timeout, received_at, first_batch_at, finished_at, outcome, status, reason, batches, items_sent, bytes_sent,
                    items_generated, items_unsent, final_answer_sent, queue_wait_s, largest_batch, batch_span_s, count)
                SELECT 'host' || (i % 5), i, 'm' || (i / 5 % 8), '5Hot' || (i % 40), 'StreamingSynapse', CASE WHEN i % 40 < 20 THEN 'mock' ELSE 'openai' END,
                    8, '5Val' || (i / 40 % 12), ((t - 0.05) * 1e9)::bigint, 12, t, CASE WHEN o < 0.95 THEN t + ttfb END,
                    t + ttfb + 2 + 8 * r2, CASE WHEN o < 0.80 THEN 'complete' WHEN o < 0.90 THEN 'partial_timeout'
                    WHEN o < 0.93 THEN 'stream_error' WHEN o < 0.95 THEN 'client_disconnect' WHEN o < 0.97 THEN 'empty_timeout' ELSE 'rejected' END,
                    CASE WHEN o < 0.97 THEN 200 ELSE 429 END, CASE WHEN o >= 0.97 THEN 'rate_limited' END,
                    6, 240, 1800, 250, 10, (o < 0.85)::int, 0.01 * r2, CASE WHEN i % 20 = 0 THEN 240 ELSE 60 END, 3 + r2, 1
                FROM (SELECT i, {t0} + (i - {first}) * (3600.0 / {per_hour}) AS t, random() AS o, random() AS r2,
                             exp(ln(0.3) + 0.6 * (random() + random() + random() - 1.5)) AS ttfb
                      FROM generate_series({first}, {first + chunk - 1}) i) g;
                INSERT INTO batches (host, request_id, seq, offset_s, items, bytes, final)
                SELECT 'host' || (i % 5), i, 0, 0.3, 240, 1200, 0 FROM generate_series({first}, {first + chunk - 1}) i WHERE i % 20 = 0
                ON CONFLICT DO NOTHING;
            """ + (f"""
                SET session_replication_role = origin;
                DO $$ BEGIN
                    EXECUTE fleet_rollups_sql('SELECT r.*, 1 AS sign FROM requests r WHERE r.received_at >= {t0} AND r.received_at < {t1}');
                    EXECUTE fleet_ttfb_sql('SELECT r.*, 1 AS sign FROM requests r WHERE r.received_at >= {t0} AND r.received_at < {t1}');
                END $$;
            """ if bulk else ""))
            if (hour + chunk_hours) % 24 == 0:
                done = first + chunk
                print(f"  loaded {done:,} rows in {time.time() - began:.0f} s ({done / (time.time() - began):,.0f} rows/s)", flush=True)
        psql(bench, "VACUUM ANALYZE")
        print(f"loaded {hours * per_hour:,} requests in {time.time() - began:.0f} s")
    if args.migrations_upto:
        for migration in sorted(os.listdir(f"{ROOT}/migrations/postgres")):
            if migration > args.migrations_upto:
                began = time.time()
                subprocess.run(["psql", bench, "-v", "ON_ERROR_STOP=1", "-q", "-f", f"{ROOT}/migrations/postgres/{migration}"], check=True)
                print(f"applied {migration} in {time.time() - began:.1f} s")
        psql(bench, "VACUUM ANALYZE")
    counts = psql(bench, "SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM fleet_rollups), "
                         "(SELECT count(*) || ' (' || sum(cardinality(counts)) || ' counts)' FROM fleet_ttfb_histograms), "
                         "pg_size_pretty(pg_database_size(current_database()))")
    print("requests | fleet_rollups rows | fleet_ttfb_histograms rows | database size:", counts)
    print(f"miners: {miners}")
    # The loaded span: [first, last] received_at; a window inside it, both edges in partial hours.
    first, last = (float(x) for x in psql(bench, "SELECT min(received_at), max(received_at) FROM requests").split("|"))
    inside = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) for t in (first // 3600 * 3600 + 1800, last // 3600 * 3600 + 2700)]
    for label, window in ((f"--since {args.days}d", ["--since", f"{args.days}d"]),
                          (f"--from {inside[0]} --to {inside[1]}", ["--from", inside[0], "--to", inside[1]])):
        times = []
        for run in range(args.runs):
            began = time.time()
            out = subprocess.run([miners, "status", "--db", bench, *window, "--by", "host,miner", "--csv"], capture_output=True, text=True)
            times.append(time.time() - began)
            if out.returncode != 0:
                sys.exit(out.stderr)
        lines = out.stdout.strip().splitlines()
        print(f"miners status {label} --by host,miner --csv: {len(lines) - 1} groups, "
              f"{sum(int(line.split(',')[2]) for line in lines[1:]):,} requests; wall time median {statistics.median(times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)})")

if __name__ == "__main__":
    main()
