"""fleet: over TLS (issue #19). A PostgreSQL of the test's own takes TCP only over TLS
(`hostssl`, a password; plain TCP rejected), with a certificate signed by a CA made here. A
supervisor with `sslmode=require` replicates its log; `miners status --db postgres://…` reads it
with `sslmode=require` and mixed with the host's SQLite file; `sslmode=disable` is refused by the
server and `verify-full` refuses the certificate (its CA is trusted nowhere on this machine).
The password appears in no output."""
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from fleet_support import Cluster, require, run
from interop_support import HOTKEYS, MINERS_BIN, free_port, wait_until

PASSWORD = "tls-Secret-42"


def make_certificates(directory: Path):
    """A CA and a server certificate for 127.0.0.1/localhost signed by it."""
    require(["openssl" if run("sh", "-c", "command -v openssl", check=False).returncode else None], "TLS test")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(directory / "ca.key"),
        "-out", str(directory / "ca.crt"), "-days", "2", "-subj", "/CN=miners-test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(directory / "server.key"),
        "-out", str(directory / "server.csr"), "-subj", "/CN=localhost")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", str(directory / "server.csr"), "-CA", str(directory / "ca.crt"),
        "-CAkey", str(directory / "ca.key"), "-CAcreateserial", "-out", str(directory / "server.crt"), "-days", "2",
        "-extfile", str(directory / "san.ext"))


@pytest.fixture
def tls_cluster():
    cluster = Cluster()
    try:
        make_certificates(cluster.dir)
        for name in ("server.key", "server.crt"):
            path = cluster.dir / name
            path.chmod(0o600)
            if cluster.root:
                run("chown", "postgres:postgres", str(path))
        (cluster.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 reject\n"
        )
        cluster.start(["ssl=on", f"ssl_cert_file={cluster.dir / 'server.crt'}", f"ssl_key_file={cluster.dir / 'server.key'}"])
        cluster.sql(f"CREATE ROLE fleet LOGIN PASSWORD '{PASSWORD}'", database="postgres")
        cluster.sql("CREATE DATABASE fleet OWNER fleet", database="postgres")
        yield cluster
    finally:
        cluster.destroy()


def url(cluster, mode):
    return f"postgres://fleet:{PASSWORD}@127.0.0.1:{cluster.port}/fleet?sslmode={mode}"


def miners(*args, timeout=120):
    out = subprocess.run([MINERS_BIN, *args], capture_output=True, text=True, timeout=timeout)
    assert PASSWORD not in out.stdout + out.stderr, "the password was printed"
    return out


def test_replication_and_analysis_over_tls(tmp_path, tls_cluster):
    cluster = tls_cluster
    database = tmp_path / "miners.sqlite"
    env_file = tmp_path / "fleet.env"
    env_file.write_text(f"FLEET_PG={url(cluster, 'require')}\n")
    env_file.chmod(0o600)
    port = free_port()
    config = tmp_path / "miners.yaml"
    config.write_text(f"""database: {database}
supervisor: {{grace_period: 2}}
fleet: {{postgres_env: FLEET_PG, env_file: {env_file}, host: tls-host}}
miners:
  - {{name: m1, hotkey: {HOTKEYS[0]}, port: {port}, backend: {{kind: mock}}}}
""")
    log = open(tmp_path / "supervisor.out", "w")
    proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        def status():
            out = miners("status", "--config", str(config), "--json", timeout=60)
            return json.loads(out.stdout) if out.returncode == 0 else None

        assert wait_until(lambda: (s := status()) and all(m["miner"]["state"] == "running" for m in s["miners"]), 60)
        out = miners("simulate", "--port", str(port), "--hotkey", HOTKEYS[0], "--requests", "20", "--concurrency", "4",
                     "--timeout", "5", "--json", timeout=180)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["complete"] == 20, out.stdout

        def local_requests():
            return sqlite3.connect(database).execute("SELECT count(*) FROM requests").fetchone()[0]

        def backlog():
            replication = (status() or {}).get("replication")
            return None if replication is None else sum(t["backlog"] for t in replication["tables"])

        # The worker commits its log every 100 ms: wait for the rows, then for the replicator.
        assert wait_until(lambda: local_requests() >= 20, 30)
        assert wait_until(lambda: backlog() == 0, 90), (status() or {}).get("replication")
        local = local_requests()
        assert int(cluster.sql("SELECT count(*) FROM requests WHERE host = 'tls-host'")) == local
        # The supervisor's connection is a TLS one (plain TCP is rejected by pg_hba.conf anyway).
        assert int(cluster.sql("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                               "WHERE a.application_name = 'miners' AND s.ssl", database="postgres")) >= 1

        # The analysis over TLS equals the host's file; both given add up to twice.
        fleet = miners("status", "--db", url(cluster, "require"), "--since", "1h", "--json")
        assert fleet.returncode == 0, fleet.stderr
        [group] = json.loads(fleet.stdout)["analysis"]
        assert group["requests"] == local
        both = miners("status", "--db", url(cluster, "require"), "--db", str(database), "--since", "1h", "--json")
        assert both.returncode == 0, both.stderr
        assert json.loads(both.stdout)["analysis"][0]["requests"] == 2 * local
        report = miners("report", "--db", url(cluster, "require"), "--since", "1h", "--out", str(tmp_path / "report.html"))
        assert report.returncode == 0 and f"{local} requests" in report.stdout, report.stdout + report.stderr

        # Plain TCP is refused by the server; an untrusted certificate by verify-full.
        for mode in ("disable", "verify-full"):
            refused = miners("status", "--db", url(cluster, mode), "--since", "1h", "--json")
            assert refused.returncode != 0, mode
            assert "cannot connect to postgres://fleet:<secret>@127.0.0.1" in refused.stderr, refused.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    assert PASSWORD not in (tmp_path / "supervisor.out").read_text()
