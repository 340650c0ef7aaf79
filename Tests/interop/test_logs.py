"""Log rotation by the supervisor and `miners logs` (issue #18): a service that prints numbered
lines fast, under `log_max_bytes: 1M` and `log_backups: 3`."""
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interop_support import HOTKEYS, MINERS_BIN, free_port, wait_until, log_tail

FIRST = 5_000       # printed at once: less than 1M, no rotation yet
TOTAL = 56_000      # 63 bytes a line, ~3.5 MB in all: 3 rotations, nothing deleted
# Numbered lines, then (once `go` exists) the rest; then it idles (the supervisor stops it).
GENERATOR = f"""
import os, sys, time
pad = "x" * 50
for i in range({FIRST}):
    sys.stdout.write(f"line {{i:06d}} {{pad}}\\n")
sys.stdout.flush()
while not os.path.exists("go"):
    time.sleep(0.05)
for i in range({FIRST}, {TOTAL}):
    sys.stdout.write(f"line {{i:06d}} {{pad}}\\n")
    if i % 500 == 0:
        sys.stdout.flush()
        time.sleep(0.01)
sys.stdout.flush()
time.sleep(3600)
"""


class Supervisor:
    """`miners supervise` in `tmp` with the generator as service `gen` and a mock miner."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.config = tmp / "miners.yaml"
        self.config.write_text(json.dumps({
            "database": str(tmp / "log.sqlite"),
            "supervisor": {"grace_period": 2, "log_max_bytes": "1M", "log_backups": 3},
            "services": [{
                "name": "gen", "command": [sys.executable, "-u", "-c", GENERATOR], "cwd": str(tmp), "port": free_port(),
                "health": {"http": "/health"}, "start_period": 300, "grace_period": 1,
            }],
            "miners": [{"name": "m", "hotkey": HOTKEYS[0], "port": free_port(), "backend": {"kind": "mock"}}],
        }, indent=1))
        self.log = open(tmp / "supervisor.out", "w")
        self.proc = subprocess.Popen([MINERS_BIN, "supervise", str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=tmp)

    def logs(self, *args):
        return subprocess.run([MINERS_BIN, "logs", *args, "--config", str(self.config)], capture_output=True, text=True,
                              timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def supervisor(tmp_path):
    s = Supervisor(tmp_path)
    yield s
    s.stop()


def numbered(text):
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("line ")]


def read_lines(proc, until, timeout):
    """Lines of `proc`'s standard output until one equals `until`, for at most `timeout` s."""
    lines, buffer, end = [], b"", time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines += [line.decode() for line in complete]
        if until in lines:
            break
    return lines


def test_rotation_keeps_every_line_and_logs_follows_it(supervisor):
    logs = supervisor.tmp / "logs"
    live = logs / "gen.log"
    last_first = f"line {FIRST - 1:06d} " + "x" * 50
    assert wait_until(lambda: last_first in supervisor.logs("gen", "--lines", "5").stdout, timeout=30), \
        f"no output from the service; {log_tail(supervisor.log.name)}"
    assert not (logs / "gen.log.1.gz").exists()

    # A follower started before any rotation.
    follower = subprocess.Popen([MINERS_BIN, "logs", "gen", "-f", "--lines", "1", "--config", str(supervisor.config)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        first = read_lines(follower, last_first, timeout=10)
        assert first == [last_first], first
        (supervisor.tmp / "go").touch()
        last = f"line {TOTAL - 1:06d} " + "x" * 50
        followed = read_lines(follower, last, timeout=40)
        assert numbered("\n".join(followed)) == list(range(FIRST, TOTAL)), \
            f"{len(followed)} lines followed, from {followed[:1]} to {followed[-1:]}"
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            assert follower.wait(timeout=5) == 0
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()

    # Rotated: backups of at most 3, gzip, each at most 1M, and every line exactly once.
    backups = sorted(p.name for p in logs.iterdir() if p.name.startswith("gen.log."))
    assert backups == ["gen.log.1.gz", "gen.log.2.gz", "gen.log.3.gz"], backups
    for name in backups:
        assert subprocess.run(["gzip", "-t", str(logs / name)]).returncode == 0
        size = int(subprocess.run(["sh", "-c", f"gzip -dc {logs / name} | wc -c"], capture_output=True, text=True).stdout)
        assert 900_000 < size <= 1 << 20, (name, size)
    assert live.stat().st_size <= 1 << 20
    everything = supervisor.logs("gen", "--lines", "1000000")
    assert everything.returncode == 0, everything.stderr
    assert numbered(everything.stdout) == list(range(TOTAL))

    # --grep and --lines; the supervisor's own log; an unknown name.
    assert numbered(supervisor.logs("gen", "--grep", "line 004499 ", "--lines", "5").stdout) == [4499]
    assert numbered(supervisor.logs("gen", "--lines", "3").stdout) == [TOTAL - 3, TOTAL - 2, TOTAL - 1]
    own = supervisor.logs("supervisor", "--since", "10m")
    assert own.returncode == 0 and "supervising 1 services and 1 miners" in own.stdout, own
    unknown = supervisor.logs("nope")
    assert unknown.returncode == 1 and "gen" in unknown.stderr and "supervisor" in unknown.stderr, unknown
