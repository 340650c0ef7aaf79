"""The supervisor under hostile conditions, with real processes: a full log directory, a closed or
stalled terminal under --echo-logs, crashing and crash-looping workers, and SIGTERM sent to the
supervisor and its workers at once (as systemd's KillMode=control-group does)."""
import asyncio
import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from interop_support import HOTKEYS, MINERS_BIN, ask, free_port, pid_alive, port_is_free, query, question, wait_until
from test_supervisor import miner, supervisor  # noqa: F401 (a fixture)

WORDS40 = " ".join(f"w{i}" for i in range(40))
MOCK40 = f'{{kind: mock, text: "{WORDS40}"}}'


def served(port, index=0, text=WORDS40):
    final = asyncio.run(ask(port, HOTKEYS[index], question("1+1"), timeout=10))
    return final is not None and final.dendrite.status_code == 200 and final.completion == text


def test_a_full_log_directory_neither_stops_the_miners_nor_the_restarts(supervisor, tmp_path):
    # Every write to the worker's log file fails with ENOSPC.
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").symlink_to("/dev/full")
    port = free_port()
    s = supervisor([miner(0, "a", port, backend=MOCK40)])
    s.wait_running(["a"])
    assert served(port)
    before = wait_until(lambda: (m := s.miners().get("a")) and m["logLinesLost"] > 0 and m, timeout=5)
    assert before and before["logError"].endswith("a.log: No space left on device"), s.miners()

    os.kill(before["pid"], signal.SIGKILL)
    after = s.wait_running(["a"], timeout=10, not_pid=before["pid"])["a"]
    assert after["restarts"] == 1 and after["lastExit"].startswith("signal 9")
    assert served(port)
    assert s.proc.poll() is None
    # The lines of both workers (and the supervisor's own about the first one's end) are counted.
    assert after["logLinesLost"] > before["logLinesLost"]
    table = s.status_text()
    assert "worker output lines that could not be written" in table
    assert "No space left on device" in table


def test_echo_logs_to_a_closed_standard_error(supervisor):
    ports = [free_port(), free_port()]
    s = supervisor([miner(i, n, p, backend=MOCK40) for i, (n, p) in enumerate(zip("ab", ports))], echo=True,
                   shell_redirect="2>&-")
    before = s.wait_running(["a", "b"])
    assert served(ports[0], 0) and served(ports[1], 1)
    status = s.status()
    # Counted, not fatal: the supervisor's own lines and the echoed worker lines.
    assert status["supervisor"]["stderrLinesLost"] > 0
    assert status["supervisor"]["stderrError"] == "standard error was closed when the supervisor started"
    assert all(m["echoLinesLost"] > 0 for m in s.miners().values())
    os.kill(before["a"]["pid"], signal.SIGKILL)
    s.wait_running(["a"], timeout=10, not_pid=before["a"]["pid"])
    assert served(ports[0], 0)
    # The database was not handed descriptor 2: every log row is intact.
    assert query(s.db, "pragma integrity_check")[0][0] == "ok"
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0


def full_pipe():
    """A pipe whose buffer is already full and that nobody reads: a paused terminal."""
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(write_end, fcntl.F_GETFL)
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    # Blocking again, as a terminal's descriptor is: the supervisor's next write would hang.
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags)
    return read_end, write_end


def test_echo_logs_to_a_stalled_terminal(supervisor):
    read_end, write_end = full_pipe()
    try:
        ports = [free_port(), free_port()]
        started = time.monotonic()
        s = supervisor([miner(i, n, p, backend=MOCK40) for i, (n, p) in enumerate(zip("ab", ports))], echo=True,
                       stderr=write_end)
        before = s.wait_running(["a", "b"])
        assert time.monotonic() - started < 15
        assert served(ports[0], 0) and served(ports[1], 1)

        # Restarts, control and the log files go on while every write to the terminal hangs.
        os.kill(before["b"]["pid"], signal.SIGKILL)
        after = s.wait_running(["b"], timeout=10, not_pid=before["b"]["pid"])
        assert served(ports[1], 1)
        log_b = (s.tmp / "logs" / "b.log").read_text()
        assert f"worker pid {before['b']['pid']} ended: signal 9" in log_b
        assert f"listening on 127.0.0.1:{ports[1]}" in log_b.split("ended: signal 9")[1]
        assert after["b"]["restarts"] == 1
        # And it still stops cleanly, without waiting on the terminal.
        stopping = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=30) == 0
        assert time.monotonic() - stopping < 10
        assert all(port_is_free(p) for p in ports)
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("crash", [signal.SIGSEGV, signal.SIGABRT])
def test_a_crashed_worker_is_gone_within_a_second_and_serves_again(supervisor, crash):
    port = free_port()
    s = supervisor([miner(0, "a", port, backend=MOCK40)])
    before = s.wait_running(["a"])["a"]
    pid = before["pid"]
    # Swift's backtracer is off in the worker: with it, a crash holds the port for seconds (and a
    # SIGSEGV sent from outside is printed as a crash, after which the process runs on).
    assert b"SWIFT_BACKTRACE=enable=no" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")

    killed = time.monotonic()
    os.kill(pid, crash)
    gone = wait_until(lambda: not pid_alive(pid) and port_is_free(port), timeout=5, interval=0.01)
    elapsed = time.monotonic() - killed
    assert gone, "the crashed worker still holds its port after 5 s"
    # 1 s, plus one polling interval.
    assert elapsed <= 1.01, f"the crashed worker took {elapsed:.2f} s to free its port"

    after = s.wait_running(["a"], timeout=10, not_pid=pid)["a"]
    assert served(port)
    assert after["lastExit"].startswith(f"signal {int(crash)}")
    log = (s.tmp / "logs" / "a.log").read_text()
    name = "Segmentation fault" if crash == signal.SIGSEGV else "Aborted"
    assert f"[supervisor] worker pid {pid} ended: signal {int(crash)} ({name})" in log
    exit_rows = wait_until(lambda: query(s.db, "select signal, detail from lifecycle where miner = 'a' and event = 'exit'"),
                           timeout=5)
    exit_row = exit_rows[0]
    assert exit_row["signal"] == int(crash) and exit_row["detail"] == "unexpected"


def test_a_crash_looping_miner_is_tried_again_after_the_cooldown(supervisor):
    port = free_port()
    s = supervisor([miner(0, "a", port, backend=MOCK40,
                         restart="{backoff_initial: 0.2, max_restarts: 1, window: 60, crash_loop_cooldown: 3}")])
    first = s.wait_running(["a"])["a"]
    os.kill(first["pid"], signal.SIGKILL)
    second = s.wait_running(["a"], timeout=10, not_pid=first["pid"])["a"]
    os.kill(second["pid"], signal.SIGKILL)
    looped_at = time.time()

    looping = wait_until(lambda: (m := s.miners().get("a")) and m["state"] == "crash-looping" and m, timeout=5)
    assert looping, s.miners()
    assert looped_at < looping["nextStartAt"] <= looped_at + 3.5
    assert "crash-looping (next try in" in s.status_text()

    third = s.wait_running(["a"], timeout=20, not_pid=second["pid"])["a"]
    assert time.time() - looped_at >= 2.5
    assert served(port)
    assert third.get("nextStartAt") is None
    # The supervisor writes its lifecycle rows every 100 ms.
    rows = wait_until(lambda: (r := query(s.db, "select event, detail from lifecycle where miner = 'a' order by id"))
                      and [x["event"] for x in r][-1] == "running" and r, timeout=5)
    events = [r["event"] for r in rows]
    loop_index = events.index("crash_loop")
    assert rows[loop_index]["detail"].startswith("crash-looping: 1 restarts within 60 s; trying again after a cooldown of 3 s, at ")
    assert events[loop_index + 1:loop_index + 3] == ["start", "running"]
    assert rows[loop_index + 1]["detail"] == "after the crash-loop cooldown of 3 s"


SLOW100 = " ".join(f"s{i}" for i in range(100))


def test_sigterm_to_the_supervisor_and_its_workers_at_once_lets_a_stream_finish(supervisor):
    port = free_port()
    s = supervisor([miner(0, "slow", port, streaming_batch_size=2,
                          backend=f'{{kind: mock, text: "{SLOW100}", delay_ms: 100}}')], grace=20)
    pid = s.wait_running(["slow"])["slow"]["pid"]

    async def scenario():
        stream = asyncio.create_task(ask(port, HOTKEYS[0], question("long"), timeout=30))
        await asyncio.sleep(1.0)
        # As systemd's KillMode=control-group: every process of the unit at once. (Not killpg:
        # each worker is a process group of its own.)
        for target in (s.proc.pid, pid):
            os.kill(target, signal.SIGTERM)
        return await stream

    started = time.monotonic()
    final = asyncio.run(scenario())
    assert final.dendrite.status_code == 200
    assert final.completion == SLOW100
    assert time.monotonic() - started >= 9
    assert s.proc.wait(timeout=30) == 0
    assert not pid_alive(pid)
    rows = query(s.db, "select outcome, batches from requests where worker = 'slow'")
    assert [tuple(r) for r in rows] == [("complete", 50)]
