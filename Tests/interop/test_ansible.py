"""deploy/ansible against three hosts: network namespaces on this machine, each with its own
address on a bridge and its own sshd; ansible-playbook connects to them over SSH. One fleet
YAML names miners on the three hosts (fleet_host); each host runs only its part. A second run
changes nothing; a config change is applied by a reload (same supervisor pid), not a restart.
Root only (CI runs as root): it creates namespaces, a bridge and veth pairs, all removed after."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fleet_support import Namespaces, require, run
from interop_support import HOTKEYS, MINERS_BIN, pid_alive, wait_until

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_DIR = ROOT / "deploy" / "ansible"
ANSIBLE_PLAYBOOK = os.environ.get("ANSIBLE_PLAYBOOK", str(ROOT / ".venv-ansible" / "bin" / "ansible-playbook"))
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
HOSTS = ["a", "b", "c"]
PORT = 18091  # the same port on every host: they are different machines


class Fleet(Namespaces):
    """Three namespaces `<tag>a..c` on bridge `<tag>br`, 10.231.N.2-4 (fleet_support.Namespaces),
    each with an sshd."""

    def __init__(self, tmp: Path):
        super().__init__(f"mt{os.getpid() % 10000}", f"10.231.{os.getpid() % 200 + 20}", HOSTS)
        self.tmp = tmp
        self.sshd = []

    def up(self):
        super().up()
        # SSH: a client key for root, a host key and an sshd per namespace, on its address only.
        os.makedirs("/run/sshd", exist_ok=True)
        self.key = self.tmp / "id_ed25519"
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key))
        authorized = self.tmp / "authorized_keys"
        authorized.write_text(Path(f"{self.key}.pub").read_text())
        authorized.chmod(0o600)
        for host in HOSTS:
            hostkey = self.tmp / f"ssh_host_{host}"
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey))
            config = self.tmp / f"sshd_{host}.conf"
            config.write_text("\n".join([
                "Port 22", f"ListenAddress {self.address[host]}", f"HostKey {hostkey}",
                f"PidFile {self.tmp}/sshd_{host}.pid", f"AuthorizedKeysFile {authorized}",
                "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "StrictModes no", "UsePAM yes", "Subsystem sftp internal-sftp", "LogLevel ERROR", "",
            ]))
            with open(self.tmp / f"sshd_{host}.log", "w") as log:
                self.sshd.append(subprocess.Popen(self.exec(host, SSHD, "-D", "-e", "-f", str(config)),
                                                  stdout=log, stderr=subprocess.STDOUT))
        for host in HOSTS:
            assert wait_until(lambda: self.reachable(host, 22), 10), f"sshd of {host} does not answer; see {self.tmp}/sshd_{host}.log"

    def reachable(self, host, port):
        try:
            with socket.create_connection((self.address[host], port), timeout=1):
                return True
        except OSError:
            return False

    def host_dir(self, host):
        return self.tmp / "hosts" / host

    def supervisor_pid(self, host):
        try:
            return int((self.host_dir(host) / "supervise.pid").read_text())
        except (OSError, ValueError):
            return None

    def down(self):
        """The supervisors (TERM, their own grace) and the sshds first; then whatever is left in
        the namespaces, the namespaces and the links (Namespaces.down)."""
        for host in HOSTS:
            pid = self.supervisor_pid(host)
            if pid and pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                if not wait_until(lambda: not pid_alive(pid), 40):
                    os.kill(pid, signal.SIGKILL)
        for proc in self.sshd:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.sshd = []
        return super().down()


@pytest.fixture
def fleet(tmp_path):
    # Outside CI a machine without these skips; in CI (CI=true) a missing one fails: .ci/run installs them.
    require([
        "root" if os.geteuid() != 0 else None,
        "iproute2 (ip)" if not shutil.which("ip") else None,
        f"openssh-server ({SSHD})" if not os.path.exists(SSHD) else None,
        f".venv-ansible ({ANSIBLE_PLAYBOOK})" if not os.path.exists(ANSIBLE_PLAYBOOK) else None,
    ], "needs root, iproute2, openssh-server and .venv-ansible (as .ci/run installs them)")
    # A short path: the control socket (DATABASE.control.sock) must fit in 107 bytes.
    tmp = Path(f"/tmp/mt-ansible-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fleet = Fleet(tmp)
    try:
        fleet.up()
        yield fleet
    finally:
        fleet.down()
        shutil.rmtree(tmp, ignore_errors=True)


def fleet_yaml(fleet, batch_a1=4):
    """a1 and a2 on host a, b1 on b, c1 on c; every host uses port PORT on its own address."""
    a, b, c = (fleet.address[h] for h in HOSTS)
    return "\n".join([
        "database: miners.sqlite",
        "defaults: {backend: {kind: mock}, streaming_batch_size: 4}",
        "miners:",
        f"  - {{name: a1, fleet_host: a, hotkey: {HOTKEYS[0]}, host: {a}, port: {PORT}, streaming_batch_size: {batch_a1}, env_file: env/mock.env}}",
        f"  - {{name: a2, fleet_host: a, hotkey: {HOTKEYS[1]}, host: {a}, port: {PORT + 1}}}",
        f"  - {{name: b1, fleet_host: b, hotkey: {HOTKEYS[2]}, host: {b}, port: {PORT}}}",
        f"  - {{name: c1, fleet_host: c, hotkey: {HOTKEYS[3]}, host: {c}, port: {PORT}}}",
        "",
    ])


def inventory(fleet, config):
    hosts = {
        host: {
            "ansible_host": fleet.address[host],
            "miners_dir": str(fleet.host_dir(host)),
        }
        for host in HOSTS
    }
    return {"miners": {"hosts": hosts, "vars": {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(fleet.key),
        "ansible_python_interpreter": "/usr/bin/python3",
        "miners_binary": MINERS_BIN,
        "miners_config": str(config),
        "miners_user": "root",
        "miners_group": "root",
        "miners_create_user": False,
        "miners_service_manager": "none",
        "miners_env_files": {"mock": {"MOCK_SECRET": "s3cret value"}},
    }}}


def playbook(fleet, inventory_file, expect_failure=False):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        # No ControlPersist master left behind after the test.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(fleet.tmp / "ansible-local"),
    })
    out = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory_file), str(PLAYBOOK_DIR / "playbook.yml")],
        capture_output=True, text=True, timeout=600, env=env, cwd=PLAYBOOK_DIR,
    )
    if expect_failure:
        assert out.returncode != 0, out.stdout[-4000:]
        return None, out.stdout
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    recap = {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])}
             for m in re.findall(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out.stdout, re.M)}
    assert set(recap) == set(HOSTS), out.stdout[-3000:]
    return recap, out.stdout


def status(fleet, host):
    out = run(MINERS_BIN, "status", "--config", str(fleet.host_dir(host) / "miners.yaml"), "--json", check=False,
              cwd=fleet.host_dir(host))
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def running(fleet, host):
    s = status(fleet, host)
    if not s or not s.get("supervisor"):
        return None
    miners = {row["miner"]["name"]: row["miner"] for row in s["miners"]}
    return (s["supervisor"], miners) if all(m.get("state") == "running" for m in miners.values()) else None


def answers_http(address, port):
    try:
        urllib.request.urlopen(f"http://{address}:{port}/", timeout=3)
        return True
    except urllib.error.HTTPError:
        return True  # an HTTP answer (404 for /) is an answer
    except OSError:
        return False


def test_playbook_deploys_three_hosts_idempotently_and_reloads_on_config_change(fleet):
    config = fleet.tmp / "fleet.yaml"
    config.write_text(fleet_yaml(fleet))
    inventory_file = fleet.tmp / "inventory.json"
    inventory_file.write_text(json.dumps(inventory(fleet, config)))
    expected = {"a": {"a1", "a2"}, "b": {"b1"}, "c": {"c1"}}

    # The whole file checks, host by host, without probing ports (they are other machines').
    # (env_file paths resolve against the working directory, as on the hosts.)
    (fleet.tmp / "env").mkdir()
    (fleet.tmp / "env" / "mock.env").write_text("MOCK_SECRET=x\n")
    (fleet.tmp / "env" / "mock.env").chmod(0o600)
    whole = run(MINERS_BIN, "check", str(config), cwd=fleet.tmp)
    assert "3 hosts" in whole.stdout and "a: 2 miners" in whole.stdout, whole.stdout

    recap, _ = playbook(fleet, inventory_file)
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in recap.values()), recap

    first = {}
    for host in HOSTS:
        found = wait_until(lambda: running(fleet, host), 30)
        assert found, f"host {host}: {status(fleet, host)}"
        supervisor, miners = found
        assert set(miners) == expected[host], f"host {host} runs {set(miners)}"
        first[host] = (supervisor["pid"], {n: m["pid"] for n, m in miners.items()})
        # The supervisor lives in the host's namespace: its address is the host's.
        assert os.stat(f"/proc/{supervisor['pid']}/ns/net").st_ino == os.stat(f"/run/netns/{fleet.ns(host)}").st_ino
        for name in expected[host]:
            port = PORT + (1 if name == "a2" else 0)
            assert wait_until(lambda: answers_http(fleet.address[host], port), 10), f"{name} does not answer on {fleet.address[host]}:{port}"
        # The secrets file: mode 0600, the value as given.
        env = fleet.host_dir(host) / "env" / "mock.env"
        assert env.stat().st_mode & 0o777 == 0o600
        assert env.read_text() == "MOCK_SECRET=s3cret value\n"
        # The unit `miners install systemd --host` writes, for this host's part.
        unit = (fleet.host_dir(host) / "miners.service").read_text()
        assert f"supervise {fleet.host_dir(host)}/miners.yaml --host {host}" in unit, unit
    # Nothing of host a on host b's address.
    assert not answers_http(fleet.address["b"], PORT + 1)

    # Second run: nothing changes, nothing restarts.
    recap, out = playbook(fleet, inventory_file)
    assert all(r["changed"] == 0 for r in recap.values()), out[-4000:]
    for host in HOSTS:
        supervisor, miners = running(fleet, host)
        assert (supervisor["pid"], {n: m["pid"] for n, m in miners.items()}) == first[host]

    # Only the config changes: a reload (same supervisor), a1 restarted with its new batch size.
    config.write_text(fleet_yaml(fleet, batch_a1=7))
    recap, out = playbook(fleet, inventory_file)
    assert all(r["changed"] >= 1 for r in recap.values()), out[-4000:]
    assert "RUNNING HANDLER [miners : reload miners]" in out and "RUNNING HANDLER [miners : restart miners]" not in out, out[-4000:]
    supervisor_a, miners_a = wait_until(
        lambda: (lambda r: r if r and r[1]["a1"]["batchSize"] == 7 else None)(running(fleet, "a")), 30
    )
    assert supervisor_a["pid"] == first["a"][0], "the supervisor was restarted, not reloaded"
    assert miners_a["a1"]["pid"] != first["a"][1]["a1"] and miners_a["a2"]["pid"] == first["a"][1]["a2"]
    for host in ["b", "c"]:
        supervisor, miners = running(fleet, host)
        assert (supervisor["pid"], {n: m["pid"] for n, m in miners.items()}) == first[host]

    # And the run after that changes nothing again.
    recap, out = playbook(fleet, inventory_file)
    assert all(r["changed"] == 0 for r in recap.values()), out[-4000:]

    # An invalid config: refused before it replaces the installed one; the play fails, the
    # running set is kept.
    config.write_text(fleet_yaml(fleet, batch_a1=7).replace("streaming_batch_size: 7", "streaming_batch_size: 0"))
    _, out = playbook(fleet, inventory_file, expect_failure=True)
    assert "streaming_batch_size" in out, out[-4000:]
    supervisor, miners = running(fleet, "a")
    assert supervisor["pid"] == first["a"][0] and miners["a1"]["batchSize"] == 7
    assert "streaming_batch_size: 7" in (fleet.host_dir("a") / "miners.yaml").read_text()

    # A new secret: the supervisor restarts (workers read env_file at start), no reload.
    config.write_text(fleet_yaml(fleet, batch_a1=7))
    data = inventory(fleet, config)
    data["miners"]["vars"]["miners_env_files"] = {"mock": {"MOCK_SECRET": "rotated"}}
    inventory_file.write_text(json.dumps(data))
    recap, out = playbook(fleet, inventory_file)
    assert "RUNNING HANDLER [miners : restart miners]" in out, out[-4000:]
    for host in HOSTS:
        found = wait_until(lambda: running(fleet, host), 30)
        assert found and found[0]["pid"] != first[host][0] and set(found[1]) == expected[host], f"{host}: {found}"
        assert fleet.supervisor_pid(host) == found[0]["pid"]
        assert (fleet.host_dir(host) / "env" / "mock.env").read_text() == "MOCK_SECRET=rotated\n"
