"""The fleet end to end (issue #19): hosts are network namespaces on this machine. Three hosts
h1..h3, each running `miners supervise fleet.yaml --host hN` with two mock miners on its own
address, and one PostgreSQL server (Debian's binaries, a cluster of this test's own) in a fourth
namespace `pg`; all four on a bridge, so replication crosses the veth network with a password.
`miners simulate` loads every miner; PostgreSQL is stopped (pg_ctl -m fast) during the load for a
bounded while and started again; then every row of every host's SQLite is in PostgreSQL exactly
once, and `miners status --db postgres://… --by host,miner` equals the per-host analyses summed.

One YAML for the three hosts (`fleet_host:` per miner). `fleet.host` is left to its default, the
machine's host name: each supervisor runs in a UTS namespace of its own named hN (as each real
host has its own name), so the same file serves every host. Root only (CI runs as root):
namespaces, bridge, processes and cluster are removed at the end, also on failure."""
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from fleet_support import NamespacedCluster, Namespaces, pg_bin, require, run
from interop_support import HOTKEYS, MINERS_BIN, wait_until

HOSTS = ["h1", "h2", "h3"]
MINERS = {h: [f"{h}a", f"{h}b"] for h in HOSTS}
PORT = 18201  # the same ports on every host: they are different machines
PG_PORT = 55432  # in the pg namespace only; never the engineers' 5432/5433
TABLES = ["requests", "batches", "timeouts", "lifecycle", "chain_events", "log_losses", "standing", "alerts"]
# Bounds (a loaded 2-core machine, debug build).
OUTAGE_MIN, OUTAGE_MAX = 15, 90  # seconds PostgreSQL stays down
DRAIN_BOUND = 240  # the replicator backs off up to 60 s between tries, then drains
REQUESTS_BEFORE, REQUESTS_DURING = 24, 16  # per miner


def miner_port(name):
    return PORT + (0 if name.endswith("a") else 1)


def hotkey(name):
    return HOTKEYS[HOSTS.index(name[:2]) * 2 + (0 if name.endswith("a") else 1)]


@pytest.fixture
def world():
    pg = pg_bin()
    require([
        "root" if os.geteuid() != 0 else None,
        "iproute2 (ip)" if not shutil.which("ip") else None,
        "util-linux (unshare, runuser)" if not (shutil.which("unshare") and shutil.which("runuser")) else None,
        "postgresql (initdb; PG_BIN)" if not (pg and (pg / "initdb").exists()) else None,
        "the postgres user" if run("id", "postgres", check=False).returncode != 0 else None,
        f"the miners binary at {MINERS_BIN} (swift build)" if not os.path.exists(MINERS_BIN) else None,
    ], "the fleet test needs root, iproute2, util-linux, Debian's postgresql and a built miners (as .ci/run provides)")
    # A short path: the control socket (DATABASE.control.sock) must fit in 107 bytes.
    tmp = Path(f"/tmp/mtf-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tmp.chmod(0o755)  # the postgres user walks into tmp/pg
    net = f"10.232.{os.getpid() % 200 + 20}"
    namespaces = Namespaces(f"mf{os.getpid() % 10000}", net, ["pg", *HOSTS])
    cluster = NamespacedCluster(namespaces, "pg", tmp / "pg", PG_PORT, f"{net}.0/24")
    world = {"tmp": tmp, "ns": namespaces, "pg": cluster, "supervisors": {}, "sims": []}
    try:
        namespaces.up()
        cluster.init()
        cluster.start()
        cluster.create_role_and_database()
        yield world
    finally:
        for proc in world["sims"]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for host, (proc, log) in world["supervisors"].items():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            log.close()
        cluster.destroy()
        leftovers = namespaces.down()
        shutil.rmtree(tmp, ignore_errors=True)
        # Nothing of ours remains: no namespace, no link, no directory.
        names = run("ip", "netns", "list").stdout
        assert not any(namespaces.ns(n) in names for n in ["pg", *HOSTS]), names
        assert run("ip", "link", "show", namespaces.bridge, check=False).returncode != 0
        assert not leftovers, f"processes were still running in the namespaces at the end: {leftovers}"


def fleet_yaml(ns):
    lines = [
        "database: miners.sqlite",
        "supervisor: {grace_period: 2}",
        "fleet: {postgres_env: FLEET_URL}",
        "defaults: {backend: {kind: mock}, streaming_batch_size: 4}",
        "miners:",
    ]
    for host in HOSTS:
        for name in MINERS[host]:
            lines.append(f"  - {{name: {name}, fleet_host: {host}, hotkey: {hotkey(name)}, host: {ns.address[host]}, port: {miner_port(name)}}}")
    return "\n".join(lines) + "\n"


def host_dir(world, host):
    return world["tmp"] / host


def start_supervisor(world, host, config):
    ns, cluster = world["ns"], world["pg"]
    directory = host_dir(world, host)
    directory.mkdir()
    env = dict(os.environ, FLEET_URL=cluster.url)
    log = open(directory / "supervise.out", "w")
    # Its own network namespace and host name: fleet.host defaults to the host name.
    argv = ns.exec(host, "unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', host,
                   MINERS_BIN, "supervise", str(config), "--host", host)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=directory, env=env)
    world["supervisors"][host] = (proc, log)


def status(world, host, *args):
    database = host_dir(world, host) / "miners.sqlite"
    if not database.exists():
        return None
    out = run(MINERS_BIN, "status", "--db", str(database), "--json", *args, check=False, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def running(world, host):
    s = status(world, host)
    if not s or not s.get("supervisor"):
        return False
    states = {row["miner"]["name"]: row["miner"]["state"] for row in s["miners"]}
    return set(states) == set(MINERS[host]) and all(v == "running" for v in states.values())


def replication(world, host):
    s = status(world, host)
    return s.get("replication") if s else None


def backlog(rep):
    return sum(t["backlog"] for t in rep["tables"])


def drained(world):
    reps = {h: replication(world, h) for h in HOSTS}
    return all(r is not None and backlog(r) == 0 and r["lagSeconds"] == 0 for r in reps.values())


def start_load(world, requests, rate=None):
    """One `miners simulate` per miner, from the root namespace over the bridge; bounded in
    count (--requests) and time (--max-duration, and the wait in finish_load)."""
    ns = world["ns"]
    procs = []
    for host in HOSTS:
        for name in MINERS[host]:
            argv = [MINERS_BIN, "simulate", "--host", ns.address[host], "--allow-remote", "--port", str(miner_port(name)),
                    "--hotkey", hotkey(name), "--requests", str(requests), "--concurrency", "2", "--timeout", "10",
                    "--max-duration", "90", "--json"]
            if rate:
                argv += ["--rate", str(rate)]
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append((name, proc))
            world["sims"].append(proc)
    return procs


def finish_load(procs, bound=150):
    deadline = time.monotonic() + bound
    results = {}
    for name, proc in procs:
        try:
            out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"miners simulate against {name} ran past its bound of {bound} s")
        assert proc.returncode == 0, (name, err[-2000:])
        results[name] = json.loads(out)
    return results


def local_keys(database, table):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        if table == "batches":
            return [(int(r), int(s)) for r, s in db.execute("SELECT request_id, seq FROM batches")]
        return [int(i) for (i,) in db.execute(f"SELECT id FROM {table}")]


def server_keys(cluster, table, host):
    if table == "batches":
        return [(int(r), int(s)) for r, s in cluster.sql(f"SELECT request_id, seq FROM batches WHERE host = '{host}'")]
    return [int(i) for (i,) in cluster.sql(f"SELECT local_id FROM {table} WHERE host = '{host}'")]


def test_three_hosts_replicate_every_row_once_across_a_postgresql_outage(world):
    ns, cluster = world["ns"], world["pg"]
    config = world["tmp"] / "fleet.yaml"
    config.write_text(fleet_yaml(ns))
    started = time.monotonic()
    for host in HOSTS:
        start_supervisor(world, host, config)
    for host in HOSTS:
        assert wait_until(lambda: running(world, host), 90, interval=1), \
            f"{host}: {status(world, host)}\n{(host_dir(world, host) / 'supervise.out').read_text()[-3000:]}"
        supervisor = status(world, host)["supervisor"]
        # The supervisor lives in the host's namespace.
        assert os.stat(f"/proc/{supervisor['pid']}/ns/net").st_ino == os.stat(f"/run/netns/{ns.ns(host)}").st_ino

    # Load on every host; while it runs, each host's rows reach PostgreSQL over the bridge.
    load = start_load(world, REQUESTS_BEFORE, rate=2)
    seen = lambda: {h for (h,) in cluster.sql("SELECT DISTINCT host FROM requests")}  # noqa: E731
    assert wait_until(lambda: seen() == set(HOSTS), 60, interval=1), f"hosts in PostgreSQL: {seen()}"

    # PostgreSQL goes away in the middle of the load, for a bounded while.
    assert cluster.stop("fast").returncode == 0, cluster.log_tail()
    down_at = time.monotonic()
    try:
        before = finish_load(load)
        during = finish_load(start_load(world, REQUESTS_DURING))
        # Every host notices (a server gone is noticed within 15 s) and holds a backlog.
        def noticed():
            reps = [replication(world, h) for h in HOSTS]
            return all(r and r.get("lastError") and backlog(r) > 0 for r in reps)

        assert wait_until(noticed, OUTAGE_MAX - 10, interval=1), {h: replication(world, h) for h in HOSTS}
        for host in HOSTS:
            rep = replication(world, host)
            assert rep["lagSeconds"] > 0 and "fleet-pw" not in rep["lastError"], rep
        time.sleep(max(0, OUTAGE_MIN - (time.monotonic() - down_at)))
        assert time.monotonic() - down_at < OUTAGE_MAX, "the outage ran past its bound"
    finally:
        if not cluster.running():
            cluster.start()
    outage = time.monotonic() - down_at
    # The miners answered throughout, PostgreSQL or not: the mock answers every request whole.
    for results, requests in ((before, REQUESTS_BEFORE), (during, REQUESTS_DURING)):
        for name, summary in results.items():
            assert summary["statuses"] == {"200": requests} and summary["complete"] == requests, (name, summary)

    # Back: every host drains its backlog (bounded; retries back off up to 60 s).
    assert wait_until(lambda: drained(world), DRAIN_BOUND, interval=1), {h: replication(world, h) for h in HOSTS}
    drain = time.monotonic() - down_at - outage

    # Every row of every host's SQLite is in PostgreSQL exactly once, under its host. Compared
    # while the supervisors run; a row written between the two reads (a lifecycle or alert row)
    # makes the comparison repeat after the next drain, a bounded number of times.
    for attempt in range(5):
        mismatches = {}
        for host in HOSTS:
            database = host_dir(world, host) / "miners.sqlite"
            for table in TABLES:
                local = local_keys(database, table)
                server = server_keys(cluster, table, host)
                assert len(local) == len(set(local)), (host, table, "duplicate local keys")
                assert len(server) == len(set(server)), (host, table, "rows stored more than once",
                                                          [k for k, n in Counter(server).items() if n > 1][:10])
                after = local_keys(database, table)
                if set(local) != set(server):
                    mismatches[(host, table)] = (sorted(set(local) - set(server))[:10], sorted(set(server) - set(local))[:10],
                                                 set(after) != set(local))
        if not mismatches:
            break
        assert all(changed for _, _, changed in mismatches.values()), mismatches  # differs with nothing new: lost
        assert wait_until(lambda: drained(world), 60, interval=1), {h: replication(world, h) for h in HOSTS}
    else:
        pytest.fail(f"SQLite and PostgreSQL still differ after 5 drains: {mismatches}")
    # No row under a name that is not one of the hosts.
    assert {h for (h,) in cluster.sql("SELECT DISTINCT host FROM requests")} == set(HOSTS)
    for host in HOSTS:
        database = host_dir(world, host) / "miners.sqlite"
        requested = (REQUESTS_BEFORE + REQUESTS_DURING) * len(MINERS[host])
        assert len(local_keys(database, "requests")) >= requested, host
        assert len(local_keys(database, "batches")) > 0, host

    # The fleet status over PostgreSQL (from the root namespace, across the bridge) equals the
    # per-host analyses of their SQLite files, group by group, and its totals are their sums.
    fleet = run(MINERS_BIN, "status", "--db", cluster.url, "--since", "1h", "--by", "host,miner", "--json", check=False, timeout=120)
    assert fleet.returncode == 0, f"miners status --db postgres://… failed: {fleet.stderr[-3000:]}"
    assert cluster.password not in fleet.stdout + fleet.stderr
    fleet_groups = {(g["group"]["host"], g["group"]["miner"]): g for g in json.loads(fleet.stdout)["analysis"]}
    expected = {}
    for host in HOSTS:
        per_host = status(world, host, "--since", "1h")
        assert per_host and per_host.get("analysis") is not None, host
        for g in per_host["analysis"]:
            expected[(host, g["group"]["miner"])] = g
    assert set(fleet_groups) == set(expected) == {(h, m) for h in HOSTS for m in MINERS[h]}, (set(fleet_groups), set(expected))
    for key, want in expected.items():
        got = fleet_groups[key]
        assert got["requests"] == want["requests"], (key, got["requests"], want["requests"])
        assert {k: v for k, v in got["outcomes"].items() if v} == {k: v for k, v in want["outcomes"].items() if v}, key
        assert {k: v for k, v in got["rejections"].items() if v} == {k: v for k, v in want["rejections"].items() if v}, key
    total = run(MINERS_BIN, "status", "--db", cluster.url, "--since", "1h", "--by", "host", "--json", timeout=120)
    by_host = {g["group"]["host"]: g for g in json.loads(total.stdout)["analysis"]}
    for host in HOSTS:
        mine = [g for (h, _), g in expected.items() if h == host]
        assert by_host[host]["requests"] == sum(g["requests"] for g in mine), host
        assert Counter(by_host[host]["outcomes"]) == sum((Counter(g["outcomes"]) for g in mine), Counter()), host
    assert sum(g["requests"] for g in fleet_groups.values()) == sum(g["requests"] for g in expected.values())
    assert sum(g["requests"] for g in fleet_groups.values()) == int(cluster.sql("SELECT count(*) FROM requests")[0][0])
    print(f"fleet: outage {outage:.0f} s, drained {drain:.0f} s after the restart, {time.monotonic() - started:.0f} s in all")
