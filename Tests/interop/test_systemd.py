"""Start on boot (issue #18): `miners install systemd` writes a unit systemd's own checker
accepts, and `miners supervise` speaks sd_notify (Type=notify) to a socket bound here."""
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from interop_support import HOTKEYS, MINERS_BIN, free_port, miners_json

MOCK = '{kind: mock, text: "one two three", delay_ms: 5}'


def write_config(directory: Path, names="abc", grace=5, extra=""):
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "miners.yaml"
    lines = [f"database: {directory / 'log.sqlite'}", f"supervisor: {{grace_period: {grace}}}", extra, "miners:"]
    lines += [f"  - {{name: {n}, hotkey: {HOTKEYS[i]}, port: {free_port()}, backend: {MOCK}}}" for i, n in enumerate(names)]
    config.write_text("\n".join(lines) + "\n")
    return config


def install(config: Path, *args, cwd=None):
    return subprocess.run([MINERS_BIN, "install", "systemd", str(config), *args], capture_output=True, text=True,
                          timeout=30, cwd=cwd)


def verify(unit: Path):
    """systemd-analyze's complaints about `unit` (it may also warn about the machine's own units)."""
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    ours = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line or str(unit) in line]
    return result.returncode, ours, result.stdout + result.stderr


needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


@needs_analyze
def test_installed_unit_passes_systemd_analyze_verify(tmp_path):
    config = write_config(tmp_path)
    unit = tmp_path / "tmp" / "miners.service"
    result = install(config, "--output", str(unit), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"wrote {unit}" in result.stdout
    assert "systemctl daemon-reload && systemctl enable --now miners.service" in result.stdout
    text = unit.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    binary = exec_start.split()[0].removeprefix("ExecStart=")
    assert binary.startswith("/") and os.path.samefile(binary, MINERS_BIN)
    assert exec_start.endswith(f" supervise {config}")
    assert f"WorkingDirectory={tmp_path}\n" in text
    assert "Type=notify\n" in text and "KillMode=mixed\n" in text and "TimeoutStopSec=35\n" in text  # 5 + 30
    code, ours, everything = verify(unit)
    assert code == 0 and not ours, everything


@needs_analyze
def test_unit_with_spaces_in_paths_and_a_service_verifies(tmp_path):
    spaced = tmp_path / "my miners"
    service = "services:\n  - name: llm\n    command: [sh, -c, 'sleep 100']\n    port: 8000\n    grace_period: 45\n"
    config = write_config(spaced, extra=service)
    unit = tmp_path / "tmp" / "miners.service"
    result = install(config, "--output", str(unit), "--env", "HF_HOME=/var/cache/hf models", cwd=spaced)
    assert result.returncode == 0, result.stderr
    text = unit.read_text()
    assert f'supervise "{config}"\n' in text
    assert f"WorkingDirectory={spaced}\n" in text
    assert 'Environment="HF_HOME=/var/cache/hf models"\n' in text
    assert "TimeoutStopSec=80\n" in text  # 5 + 45 + 30
    code, ours, everything = verify(unit)
    assert code == 0 and not ours, everything

    user = install(config, "--user", "--print", cwd=spaced)
    assert user.returncode == 0 and "WantedBy=default.target" in user.stdout


def test_install_refuses_a_path_with_a_newline(tmp_path):
    odd = tmp_path / "new\nline"
    config = write_config(odd)
    config.write_text(config.read_text().replace(f"database: {odd / 'log.sqlite'}", "database: log.sqlite"))
    result = install(config, "--print", cwd=tmp_path)
    assert result.returncode == 1 and "line break" in result.stderr and "[Service]" not in result.stdout


def test_install_reports_a_config_error(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("miners: []\n")
    result = install(config, "--print")
    assert result.returncode == 1 and result.stderr.startswith("config error:")


def test_supervise_notifies_ready_when_all_run_and_stopping_on_sigterm(tmp_path):
    config = write_config(tmp_path, names="abc")
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(30)
    log = open(tmp_path / "supervisor.log", "w")
    proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "NOTIFY_SOCKET": address})
    try:
        message = listener.recv(4096).decode()
        status = miners_json("status", "--config", str(config))  # at the moment READY=1 arrived
        assert message == "READY=1\nSTATUS=all 3 workers running, 0 services healthy"
        assert status and status["supervisor"], status
        states = {row["miner"]["name"]: row["miner"]["state"] for row in status["miners"]}
        assert states == {"a": "running", "b": "running", "c": "running"}
        assert "all 3 workers running after" in (tmp_path / "supervisor.log").read_text()
        # Workers do not inherit NOTIFY_SOCKET.
        pid = status["miners"][0]["miner"]["pid"]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not any(v.startswith(b"NOTIFY_SOCKET=") for v in environ)

        proc.send_signal(signal.SIGTERM)
        message = listener.recv(4096).decode()
        assert message.startswith("STOPPING=1\nSTATUS=stopping"), message
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()
        log.close()


def test_supervise_with_an_abstract_notify_socket_and_none(tmp_path):
    name = f"miners-interop-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(30)
    config = write_config(tmp_path / "abstract", names="a")
    proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "NOTIFY_SOCKET": "@" + name})
    try:
        assert listener.recv(4096).decode().startswith("READY=1\n")
        proc.send_signal(signal.SIGTERM)
        assert listener.recv(4096).decode().startswith("STOPPING=1\n")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()
