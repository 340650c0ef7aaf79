"""Retention with hourly rollups (issue #18): ten days of synthetic requests, a retention round
by `miners retention` and by the supervisor itself; `status` and `report` give the same figures
after as before and say which part came from rollups."""
import json
import random
import sqlite3
import subprocess
import time
from pathlib import Path

from interop_support import HOTKEYS, MINERS_BIN, free_port, wait_until

DAY = 86_400
OUTCOMES = ["complete", "complete", "partial_timeout", "empty_timeout", "rejected"]


def miners(*args, timeout=120):
    return subprocess.run([MINERS_BIN, *args], capture_output=True, text=True, timeout=timeout)


def fill(database: Path, days: int, now: float):
    """`days` of requests, one every five minutes per miner, with their batches."""
    assert miners("migrate", "--db", str(database)).returncode == 0
    rng = random.Random(35)
    rows = batches = 0
    with sqlite3.connect(database) as db:
        t = now - days * DAY
        while t < now - 60:
            for worker in ("m1", "m2"):
                outcome = rng.choice(OUTCOMES)
                at = t + rng.random() * 60
                ttfb = None if outcome in ("empty_timeout", "rejected") else 0.05 + rng.random() * 2
                sizes = [] if ttfb is None else [rng.randint(1, 12) for _ in range(rng.randint(1, 5))]
                cursor = db.execute(
                    """INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, timeout,
                           received_at, first_batch_at, finished_at, outcome, status, reason, batches, items_sent, bytes_sent,
                           items_generated, items_unsent, final_answer_sent, largest_batch)
                       VALUES (?, ?, 'S', 'mock', 4, ?, 12, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)""",
                    (worker, "5" + worker, None if outcome == "rejected" else rng.choice(["v1", "v2"]), at,
                     None if ttfb is None else at + ttfb, at + 3, outcome, 401 if outcome == "rejected" else 200,
                     "stale_nonce" if outcome == "rejected" else None, len(sizes), sum(sizes), 4 * sum(sizes), sum(sizes),
                     int(outcome == "complete"), max(sizes, default=0)))
                for seq, size in enumerate(sizes):
                    db.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?, 0)", (cursor.lastrowid, seq, ttfb + seq * 0.2, size, 4 * size))
                rows += 1
                batches += len(sizes)
            t += 300
    return rows, batches


def figures(database: Path):
    out = miners("status", "--db", str(database), "--since", "11d", "--json")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    return {g["group"]["miner"]: g for g in status["analysis"]}, status.get("analysisSources")


def same(before, after):
    assert before.keys() == after.keys()
    for miner in before:
        a, b = before[miner], after[miner]
        for key in ("requests", "outcomes", "rejections", "itemsSentBeforeTimeout", "itemsUnsent", "largestBatch"):
            assert a[key] == b[key], (miner, key, a[key], b[key])
        for key in ("finalAnswerRate", "meanTotal", "meanDeliveredShare", "meanBatchesPerRequest", "meanTimeout"):
            assert abs(a[key] - b[key]) < 1e-9, (miner, key)
        for key in ("ttfbP50", "ttfbP95", "ttfbP99"):
            assert abs(a[key] - b[key]) <= 0.0101 * a[key], (miner, key, a[key], b[key])


def write_config(tmp: Path, database: Path, retention: str):
    config = tmp / "miners.yaml"
    config.write_text(f"""database: {database}
retention: {retention}
supervisor: {{grace_period: 2}}
miners:
  - name: m1
    hotkey: {HOTKEYS[0]}
    port: {free_port()}
    backend: {{kind: mock}}
""")
    return config


def test_a_round_keeps_the_figures_and_says_which_part_is_rolled_up(tmp_path):
    database = tmp_path / "log.sqlite"
    now = time.time()
    rows, _ = fill(database, 10, now)
    config = write_config(tmp_path, database, "{batches: 1d, requests: 2d}")
    before, sources = figures(database)
    assert sources is None or sources.get("rollupsFrom") is None
    assert sum(f["requests"] for f in before.values()) == rows

    out = miners("retention", str(config))
    assert out.returncode == 0, out.stderr
    assert "done:" in out.stdout and "hours rolled up" in out.stdout
    with sqlite3.connect(database) as db:
        oldest = db.execute("SELECT min(received_at) FROM requests").fetchone()[0]
        assert oldest >= now - 2 * DAY - 3 * 3600
        assert db.execute("SELECT count(*) FROM requests").fetchone()[0] < rows / 3
        assert db.execute("SELECT count(*) FROM batches JOIN requests ON id = request_id WHERE received_at < ?",
                          (now - DAY - 3 * 3600,)).fetchone()[0] == 0
        assert db.execute("SELECT sum(requests) FROM request_rollups").fetchone()[0] >= rows * 0.9

    after, sources = figures(database)
    same(before, after)
    assert sources["rollupsFrom"] <= now - 10 * DAY and sources["rawFrom"] > now - 2 * DAY - 3 * 3600
    text = miners("status", "--db", str(database), "--since", "11d")
    assert "from hourly rollups" in text.stdout and "raw rows from" in text.stdout
    # Within the raw rows, nothing is said.
    assert "rollups" not in miners("status", "--db", str(database), "--since", "1h").stdout

    html = tmp_path / "report.html"
    assert miners("report", "--db", str(database), "--since", "11d", "--out", str(html)).returncode == 0
    page = html.read_text()
    assert 'id="sources"' in page and "From hourly rollups" in page

    # A second round finds nothing more to do.
    again = miners("retention", str(config))
    assert "0 hours rolled up; deleted 0 requests, 0 batch rows" in again.stdout.splitlines()[-2]


def test_the_supervisor_applies_retention_itself(tmp_path):
    database = tmp_path / "log.sqlite"
    now = time.time()
    fill(database, 4, now)
    config = write_config(tmp_path, database, "{batches: 1d, requests: 1d}")
    env = {"MINERS_RETENTION_DELAY_SECONDS": "1", "PATH": "/usr/bin:/bin"}
    with open(tmp_path / "supervisor.out", "w") as log:
        proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        def trimmed():
            with sqlite3.connect(database) as db:
                return db.execute("SELECT min(received_at) FROM requests").fetchone()[0] >= now - DAY - 3 * 3600
        assert wait_until(trimmed, timeout=60)
        assert wait_until(lambda: "retention: " in (tmp_path / "supervisor.out").read_text(), timeout=30)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
