"""fleet: (issue #19, part 1): a real supervisor with two mock miners replicates its log to a
real PostgreSQL (Debian's, a cluster of this test's own). Requests by `miners simulate`;
PostgreSQL is stopped for a while and started again; then every SQLite row is in PostgreSQL
exactly once (counts and ids per table) and `miners status` shows a lag of 0."""
import json
import signal
import sqlite3
import subprocess
import time
import urllib.request

import pytest

from fleet_support import Cluster
from interop_support import HOTKEYS, MINERS_BIN, free_port, log_tail, wait_until

TABLES = ["requests", "batches", "timeouts", "lifecycle", "chain_events", "log_losses", "standing", "alerts"]


@pytest.fixture
def cluster():
    cluster = Cluster()
    try:
        cluster.start()
        cluster.sql("CREATE DATABASE fleet", database="postgres")
        yield cluster
    finally:
        cluster.destroy()


def status(config):
    out = subprocess.run([MINERS_BIN, "status", "--config", str(config), "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def simulate(port, hotkey, requests):
    out = subprocess.run([MINERS_BIN, "simulate", "--port", str(port), "--hotkey", hotkey, "--requests", str(requests),
                          "--concurrency", "4", "--timeout", "5", "--json"], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr


def test_every_row_reaches_postgresql_once_across_an_outage(tmp_path, cluster):
    database = tmp_path / "miners.sqlite"
    env_file = tmp_path / "fleet.env"
    env_file.write_text(f"FLEET_PG=postgres://postgres:not-needed-trust@127.0.0.1:{cluster.port}/fleet?sslmode=disable\n")
    env_file.chmod(0o600)
    ports = [free_port(), free_port()]
    metrics = free_port()
    config = tmp_path / "miners.yaml"
    config.write_text(f"""database: {database}
supervisor: {{grace_period: 2, metrics_port: {metrics}}}
fleet: {{postgres_env: FLEET_PG, env_file: {env_file}, host: interop-host}}
miners:
  - {{name: m1, hotkey: {HOTKEYS[0]}, port: {ports[0]}, backend: {{kind: mock}}}}
  - {{name: m2, hotkey: {HOTKEYS[1]}, port: {ports[1]}, backend: {{kind: mock}}}}
""")
    log = open(tmp_path / "supervisor.out", "w")
    proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        def running():
            try:
                return all(m["miner"]["state"] == "running" for m in status(config)["miners"])
            except AssertionError:  # before the supervisor made the database
                return False

        assert wait_until(running, 60)
        for port, hotkey in zip(ports, HOTKEYS):
            simulate(port, hotkey, 30)

        def backlog():
            replication = status(config).get("replication")
            return None if replication is None else sum(t["backlog"] for t in replication["tables"])

        assert wait_until(lambda: backlog() == 0, 60), status(config).get("replication")
        assert int(cluster.sql("SELECT count(*) FROM requests")) >= 60

        # PostgreSQL goes away; the miners go on answering and logging.
        cluster.stop()
        started = time.monotonic()
        for port, hotkey in zip(ports, HOTKEYS):
            simulate(port, hotkey, 40)
        assert time.monotonic() - started < 120
        assert wait_until(lambda: status(config)["replication"].get("lastError"), 60)
        down = status(config)["replication"]
        assert sum(t["backlog"] for t in down["tables"]) > 0
        assert down["lagSeconds"] > 0
        assert down["lastError"] and "not-needed-trust" not in down["lastError"]
        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10).read().decode()
        assert "miners_replication_lag_seconds" in text
        assert 'miners_replication_backlog_rows{table="requests"}' in text

        # Back: the backlog drains (the replicator retries with backoff, at most 60 s apart).
        cluster.start()
        assert wait_until(lambda: backlog() == 0, 120), status(config).get("replication")
        replication = status(config)["replication"]
        assert replication["lagSeconds"] == 0
        human = subprocess.run([MINERS_BIN, "status", "--config", str(config)], capture_output=True, text=True, timeout=60)
        assert "fleet replication (host interop-host): lag 0" in human.stdout, human.stdout
        # Every row once: counts and ids per table, the same on both sides (while the supervisor
        # runs: the rows of its own stop are sent after its next start).
        local = sqlite3.connect(database)
        for table in TABLES:
            count = local.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            server = int(cluster.sql(f"SELECT count(*) FROM {table} WHERE host = 'interop-host'"))
            assert server == count, (table, count, server)
            if table == "batches":
                ids = local.execute("SELECT group_concat(request_id || ':' || seq) FROM (SELECT * FROM batches ORDER BY request_id, seq)").fetchone()[0] or ""
                remote = cluster.sql("SELECT coalesce(string_agg(request_id || ':' || seq, ',' ORDER BY request_id, seq), '') FROM batches")
            else:
                ids = local.execute(f"SELECT group_concat(id) FROM (SELECT id FROM {table} ORDER BY id)").fetchone()[0] or ""
                remote = cluster.sql(f"SELECT coalesce(string_agg(local_id::text, ',' ORDER BY local_id), '') FROM {table}")
            assert ids.replace(" ", "") == remote, table
        assert int(cluster.sql("SELECT count(*) FROM requests")) >= 140

        # Requests answered just before a graceful stop reach PostgreSQL by the time the
        # supervisor exits (its last round, after the workers stopped).
        for port, hotkey in zip(ports, HOTKEYS):
            simulate(port, hotkey, 10)
        proc.terminate()
        assert proc.wait(timeout=60) == 0
        for table in ("requests", "batches", "timeouts"):
            count = local.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert int(cluster.sql(f"SELECT count(*) FROM {table} WHERE host = 'interop-host'")) == count, table
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()




def test_a_reload_adds_the_fleet_and_no_miner_restarts(tmp_path, cluster):
    database = tmp_path / "miners.sqlite"
    env_file = tmp_path / "fleet.env"
    env_file.write_text(f"FLEET_PG=postgres://postgres:not-needed-trust@127.0.0.1:{cluster.port}/fleet?sslmode=disable\n")
    env_file.chmod(0o600)
    port = free_port()
    config = tmp_path / "miners.yaml"
    miners = f"miners:\n  - {{name: m1, hotkey: {HOTKEYS[0]}, port: {port}, backend: {{kind: mock}}}}\n"
    config.write_text(f"database: {database}\nsupervisor: {{grace_period: 2}}\n{miners}")
    log = open(tmp_path / "supervisor.out", "w")
    proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        def pid():
            try:
                miner = status(config)["miners"][0]["miner"]
            except AssertionError:  # before the supervisor made the database
                return None
            return miner["pid"] if miner["state"] == "running" else None

        before = wait_until(pid, 60)
        assert before, log_tail(log.name)
        simulate(port, HOTKEYS[0], 10)
        config.write_text(f"database: {database}\nsupervisor: {{grace_period: 2}}\n"
                          f"fleet: {{postgres_env: FLEET_PG, env_file: {env_file}, host: reloaded-host}}\n{miners}")
        proc.send_signal(signal.SIGHUP)
        local = sqlite3.connect(database)
        # The workers commit their rows every 100 ms.
        count = wait_until(lambda: (lambda n: n if n >= 10 else None)(local.execute("SELECT count(*) FROM requests").fetchone()[0]), 10)
        assert count, log_tail(log.name)

        def replicated():
            try:
                return int(cluster.sql("SELECT count(*) FROM requests WHERE host = 'reloaded-host'")) == count
            except AssertionError:  # before the replicator made the schema
                return False

        assert wait_until(replicated, 60), log_tail(log.name)
        assert pid() == before
        detail = local.execute("SELECT detail FROM lifecycle WHERE event = 'reload'").fetchone()[0]
        assert detail.endswith(f"1 unchanged; fleet: replicating to postgres://postgres:<secret>@127.0.0.1:{cluster.port}/fleet"
                               f"?sslmode=disable as host 'reloaded-host'"), detail
        assert status(config)["replication"]["host"] == "reloaded-host"
        # Removed again: replication stops, and `status` shows no lag that would only grow.
        config.write_text(f"database: {database}\nsupervisor: {{grace_period: 2}}\n{miners}")
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: status(config).get("replication") is None, 30), status(config).get("replication")
        assert pid() == before
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0
        log.close()
