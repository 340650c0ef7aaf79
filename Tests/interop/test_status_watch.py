"""`miners status --watch` (issue #18 item 7): the live table redrawn in place in a real terminal
(tmux), with each worker's and service's CPU% and RSS, a supervisor that comes and goes, a miner
stopped under it, Ctrl-C restoring the terminal; and frames one after another into a pipe that
closes."""
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interop_support import HOTKEYS, MINERS_BIN, free_port, miners_json, wait_until

HEADER = re.compile(r"^miners status, every 0\.5s: (\S+)$", re.M)


def write_config(tmp: Path):
    """Two mock miners and a small web server as a service."""
    config = tmp / "miners.yaml"
    web = free_port()
    config.write_text(json.dumps({
        "database": str(tmp / "log.sqlite"), "supervisor": {"grace_period": 2},
        "services": [{"name": "web", "command": [sys.executable, "-m", "http.server", str(web), "--bind", "127.0.0.1"],
                      "cwd": str(tmp), "port": web, "health": {"http": "/"}, "grace_period": 2}],
        "miners": [{"name": name, "hotkey": HOTKEYS[i], "port": free_port(), "backend": {"kind": "mock"}}
                   for i, name in enumerate(["m1", "m2"])],
    }, indent=1))
    return config


class Tmux:
    """A tmux server of its own (its socket in `tmp`), one 200×50 session running `argv` under a
    shell that outlives it (Ctrl-C runs its trap, not its end), prints its exit status and waits:
    the terminal is then read as the program left it (a dead pane would hide the cursor)."""

    def __init__(self, tmp: Path, argv):
        conf = tmp / "tmux.conf"
        conf.write_text("set -g status off\n")
        self.base = ["tmux", "-S", str(tmp / "tmux.sock"), "-f", str(conf)]
        shell = 'trap true INT; "$@"; echo "watch exited $?"; sleep 600'
        self.run("new-session", "-d", "-s", "watch", "-x", "200", "-y", "50", "sh", "-c", shell, "sh", *argv)

    def run(self, *args):
        return subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=30, check=True).stdout

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "watch")

    def show(self, fmt):
        return self.run("display-message", "-p", "-t", "watch", fmt).strip()

    def kill(self):
        subprocess.run(self.base + ["kill-server"], capture_output=True, timeout=30)


def table(screen, first_header):
    """The rows of the table whose header starts `NAME  <first_header>`, by NAME, as {column: cell}:
    columns start where their header does (padded with two spaces or more; a header may hold one)."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"NAME\s+{first_header}\s", line):
            starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", line)]
            names = [line[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
            rows = {}
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                cells = [row[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
                rows[cells[0]] = dict(zip(names, cells))
            return rows
    return {}


def numeric(cell):
    return re.fullmatch(r"\d+\.\d", cell or "") is not None


class Supervisor:
    def __init__(self, tmp: Path, config: Path):
        self.log = open(tmp / "supervisor.log", "w")
        self.config = config
        self.proc = subprocess.Popen([MINERS_BIN, "supervise", str(config)], stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=tmp)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def test_watch_redraws_in_place_in_a_terminal(tmp_path):
    config = write_config(tmp_path)
    tmux = Tmux(tmp_path, [MINERS_BIN, "status", "--watch", "--interval", "0.5", "--config", str(config)])
    supervisor = None
    try:
        # No supervisor yet: the watch says so and goes on.
        screen = wait_until(lambda: "no supervisor is running" in (s := tmux.screen()) and s, timeout=60, interval=0.2)
        assert screen, f"no frame without a supervisor:\n{tmux.screen()}"
        assert tmux.show("#{alternate_on}") == "1"
        assert "Ctrl-C to quit" in screen

        # It comes up: the same watch shows both miners and the service running, with CPU% and RSS.
        supervisor = Supervisor(tmp_path, config)

        def all_running():
            s = tmux.screen()
            miners, services = table(s, "HOTKEY"), table(s, "PORT")
            ok = all(miners.get(n, {}).get("STATE") == "running" and numeric(miners[n].get("CPU%"))
                     and numeric(miners[n].get("RSS MiB")) for n in ("m1", "m2"))
            web = services.get("web", {})
            ok = ok and web.get("STATE", "").startswith("running") and numeric(web.get("CPU%")) and numeric(web.get("RSS MiB"))
            return (s, miners, services) if ok else None

        found = wait_until(all_running, timeout=120, interval=0.2)
        assert found, f"not both miners and the service running with CPU and RSS:\n{tmux.screen()}\nsee {supervisor.log.name}"
        screen, miners, services = found
        assert "no supervisor is running" not in screen
        for row in list(miners.values()) + list(services.values()):
            assert float(row["RSS MiB"]) > 1, row  # a Swift worker or a Python server takes megabytes
            assert 0 <= float(row["CPU%"]) < 100 * 64, row

        # Redrawn in place: a later frame (its time changed) over the first; one header, one
        # footer, never frames scrolled one after another.
        first_time = HEADER.search(screen).group(1)
        later = wait_until(lambda: (m := HEADER.search(s := tmux.screen())) and m.group(1) != first_time and s,
                           timeout=30, interval=0.2)
        assert later, f"the header's time did not change:\n{tmux.screen()}"
        assert len(HEADER.findall(later)) == 1 and later.count("Ctrl-C to quit") == 1, later
        assert tmux.show("#{alternate_on}") == "1"

        # A miner stopped under the watch shows stopped, without CPU or memory; the other runs on.
        stopped = subprocess.run([MINERS_BIN, "stop", "m1", "--config", str(config)], capture_output=True, text=True,
                                 timeout=60)
        assert stopped.returncode == 0, stopped.stderr

        def m1_stopped():
            miners = table(tmux.screen(), "HOTKEY")
            m1, m2 = miners.get("m1", {}), miners.get("m2", {})
            ok = m1.get("STATE") == "stopped" and m1.get("CPU%") == "-" and m1.get("RSS MiB") == "-"
            return ok and m2.get("STATE") == "running" and numeric(m2.get("CPU%"))

        assert wait_until(m1_stopped, timeout=60, interval=0.2), f"m1 not shown stopped:\n{tmux.screen()}"

        # Ctrl-C: the watch exits 0 and the terminal has its own screen back, cursor shown.
        tmux.run("send-keys", "-t", "watch", "C-c")
        screen = wait_until(lambda: "watch exited" in (s := tmux.screen()) and s, timeout=30, interval=0.1)
        assert screen, f"the watch did not end on Ctrl-C:\n{tmux.screen()}"
        assert screen.strip() == "watch exited 0", screen  # the shell's screen as it was: no frame on it
        assert tmux.show("#{alternate_on}") == "0"
        assert tmux.show("#{cursor_flag}") == "1"
    finally:
        tmux.kill()
        if supervisor:
            supervisor.stop()


def test_watch_into_a_pipe_that_closes(tmp_path):
    """Not a terminal: plain frames, a blank line between, one per interval; `head -c` closing the
    pipe ends the watch with status 0 (no SIGPIPE, no trap), promptly."""
    config = write_config(tmp_path)
    started = time.monotonic()
    out = subprocess.run(
        ["bash", "-c", '"$@" | head -c 1500; status=${PIPESTATUS[0]}; echo; echo "status $status"', "_",
         MINERS_BIN, "status", "--watch", "--interval", "0.5", "--config", str(config)],
        capture_output=True, text=True, timeout=90)
    elapsed = time.monotonic() - started
    assert out.stdout.rstrip().endswith("status 0"), (out.stdout, out.stderr)
    assert "\x1b" not in out.stdout
    frames = HEADER.findall(out.stdout)
    assert len(frames) >= 2, out.stdout
    assert out.stdout.startswith("miners status, every 0.5s: ")
    assert "\n\nminers status, every 0.5s: " in out.stdout  # a blank line between frames
    assert "Ctrl-C to quit" not in out.stdout
    # What the database knows, without a supervisor: both miners, stopped, no usage figures.
    assert "no supervisor is running" in out.stdout
    assert re.search(r"^m1\s.*\bstopped\b", out.stdout, re.M), out.stdout
    # Frames come an interval apart, not back to back.
    assert elapsed >= 0.5 * (len(frames) - 1), (elapsed, len(frames))
    assert out.stderr == "", out.stderr


@pytest.mark.parametrize("args, message", [
    (["--watch", "--json"], "--watch redraws the live table"),
    (["--watch", "--since", "1h"], "--watch redraws the live table"),
    (["--watch", "--by", "miner"], "--watch redraws the live table"),
    (["--watch", "--csv"], "--watch redraws the live table"),
    (["--watch", "--interval", "0.1"], "--interval takes 0.5 to 3600 seconds"),
    (["--watch", "--interval", "3601"], "--interval takes 0.5 to 3600 seconds"),
    (["--interval", "5"], "--interval goes with --watch"),
])
def test_watch_rejects_what_it_cannot_draw(tmp_path, args, message):
    config = write_config(tmp_path)
    out = subprocess.run([MINERS_BIN, "status", "--config", str(config), *args], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0 and message in out.stderr, (out.returncode, out.stderr)


def test_help_lists_the_usage_columns():
    out = subprocess.run([MINERS_BIN, "help", "status"], capture_output=True, text=True, timeout=30)
    assert "--watch" in out.stdout and "--interval" in out.stdout
    assert "CPU%" in out.stdout and "RSS MiB" in out.stdout
