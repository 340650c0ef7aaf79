"""Helpers for fleet tests (issue #19): network namespaces on a bridge, standing in for
several machines on this one; a PostgreSQL cluster of the test's own run inside one of them
(`NamespacedCluster`), or on this machine's loopback (`Cluster`).

Namespaces are root only (CI runs as root). Everything made here is removed by
`down()`/`destroy()`, which are safe to call after a partial `up()`/`init()` and more than once."""
import glob
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from interop_support import free_port, pid_alive


def run(*argv, check=True, timeout=120, **kwargs):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check:
        assert out.returncode == 0, (argv, out.stdout[-2000:], out.stderr[-2000:])
    return out


def pg_bin():
    """Debian's PostgreSQL binaries: PG_BIN (set by .ci/run), else the newest installed; None."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(found[-1]) if found else None


def require(missing, what):
    """Under CI=true a missing prerequisite fails the test (.ci/run installs it); elsewhere it skips."""
    missing = [m for m in missing if m]
    if not missing:
        return
    message = f"{what}: missing {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _wait_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return not any(pid_alive(p) for p in pids)


class Namespaces:
    """Namespaces `<tag><name>` on bridge `<tag>br` (address NET.1 in the root namespace), each
    joined by a veth pair and given NET.2, NET.3, … in the order of `names`."""

    def __init__(self, tag, net, names):
        self.tag, self.net, self.names = tag, net, list(names)
        self.bridge = f"{tag}br"
        self.address = {n: f"{net}.{i + 2}" for i, n in enumerate(self.names)}
        self.created = []  # namespaces
        self.links = []  # root-namespace links

    def ns(self, name):
        return f"{self.tag}{name}"

    def up(self):
        run("ip", "link", "add", self.bridge, "type", "bridge")
        self.links.append(self.bridge)
        run("ip", "addr", "add", f"{self.net}.1/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for name in self.names:
            ns = self.ns(name)
            run("ip", "netns", "add", ns)
            self.created.append(ns)
            outside, inside = f"{ns}h", f"{ns}n"
            run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            self.links.append(outside)
            run("ip", "link", "set", inside, "netns", ns)
            run("ip", "link", "set", outside, "master", self.bridge, "up")
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.address[name]}/24", "dev", inside)
            run("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up")
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def exec(self, name, *argv):
        """The argv to run a command inside namespace `name`."""
        return ["ip", "netns", "exec", self.ns(name), *argv]

    def pids(self, name):
        out = run("ip", "netns", "pids", self.ns(name), check=False)
        return [int(p) for p in out.stdout.split() if p.strip().isdigit()]

    def down(self):
        """Every process still inside one of these namespaces (all started by the test) is
        ended, TERM then KILL; then the namespaces and links go. Returns what was left over."""
        leftovers = {}
        for ns_name in [n for n in self.names if self.ns(n) in self.created]:
            pids = self.pids(ns_name)
            if pids:
                leftovers[ns_name] = pids
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                if not _wait_gone(pids, 20):
                    for pid in pids:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    _wait_gone(pids, 10)
        for ns in self.created:
            run("ip", "netns", "del", ns, check=False)
        self.created = []
        for link in self.links:
            run("ip", "link", "del", link, check=False)
        self.links = []
        return leftovers


class NamespacedCluster:
    """A PostgreSQL cluster of the test's own (initdb in `directory`), run as the postgres user
    inside namespace `ns_name` of `namespaces`, listening on that namespace's address only (and
    on a Unix socket in `directory`). Local (socket) connections trust; TCP from `subnet`
    needs the password of role `user`."""

    def __init__(self, namespaces, ns_name, directory: Path, port, subnet, user="fleet", password="fleet-pw", database="fleet"):
        self.bin = pg_bin()
        self.namespaces, self.ns_name = namespaces, ns_name
        self.dir = directory
        self.data = directory / "data"
        self.port, self.subnet = port, subnet
        self.user, self.password, self.database = user, password, database
        self.address = namespaces.address[ns_name]
        self.initialised = False

    @property
    def url(self):
        return f"postgres://{self.user}:{self.password}@{self.address}:{self.port}/{self.database}?sslmode=disable"

    def _run(self, tool, *args, check=True, timeout=120):
        command = self.namespaces.exec(self.ns_name, "runuser", "-u", "postgres", "--", str(self.bin / tool), *args)
        return run(*command, check=check, timeout=timeout, cwd=self.dir)

    def init(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8")
        self.initialised = True
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.subnet} scram-sha-256\n")

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses={self.address}", "start")

    def stop(self, mode="fast"):
        return self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def running(self):
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def sql(self, statement, database=None):
        """psql as the superuser over the Unix socket; rows as lists of fields."""
        out = self._run("psql", "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-d", database or self.database,
                        "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", statement)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def create_role_and_database(self):
        self.sql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'", database="postgres")
        self.sql(f"CREATE DATABASE {self.database} OWNER {self.user}", database="postgres")

    def destroy(self):
        if self.initialised and self.running():
            if self.stop("fast").returncode != 0:
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, chars=3000):
        try:
            return (self.dir / "server.log").read_text()[-chars:]
        except OSError:
            return ""


class Cluster:
    """A PostgreSQL cluster of the test's own: initdb into a temp dir, run as the postgres user
    when we are root (the server refuses root), listening on 127.0.0.1 at a free port and on a
    Unix socket in that dir. Every connection trusts (TCP too, unless the test changes
    pg_hba.conf). `destroy()` stops it and removes the dir."""

    def __init__(self):
        self.bin = pg_bin()
        self.root = os.geteuid() == 0
        require([
            "postgresql (initdb; PG_BIN)" if not (self.bin and (self.bin / "initdb").exists()) else None,
            "the postgres user" if self.root and run("id", "postgres", check=False).returncode != 0 else None,
        ], "a PostgreSQL cluster of the test's own needs Debian's postgresql (apt-get install postgresql; .ci/run does it)")
        self.dir = Path(tempfile.mkdtemp(prefix="miners-fleet-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        try:
            if self.root:
                shutil.chown(self.dir, "postgres", "postgres")
            self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def run(self, tool, *args, check=True):
        command = [str(self.bin / tool), *args]
        if self.root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return run(*command, check=check, cwd=self.dir)

    def start(self, options=()):
        """`options`: extra server settings, each "name=value" (given to the server as -c name=value)."""
        extra = "".join(f" -c {shlex.quote(option)}" for option in options)
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                 "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1{extra}", "start")

    def stop(self):
        return self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def sql(self, statement, database="fleet", user="postgres"):
        """psql as `user` over the Unix socket in the cluster dir (so it works whatever pg_hba.conf
        asks of TCP, TLS only say); the output, unaligned, tuples only, stripped."""
        out = self.run("psql", "-h", str(self.dir), "-p", str(self.port), "-U", user, "-d", database,
                       "-At", "-v", "ON_ERROR_STOP=1", "-c", statement)
        return out.stdout.strip()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
