"""`miners supervise` as an operator runs it: real worker processes, signals, the control
socket, the real dendrite and the SQLite log."""
import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from interop_support import (
    HOTKEYS, MINERS_BIN, ask, free_port, miners_json, pid_alive, port_is_free, query, question, raw_post,
    raw_stream, signed_headers, synapse_body, wait_until, log_tail,
)

WORDS40 = " ".join(f"w{i}" for i in range(40))


class Supervisor:
    """`miners supervise` on a config in `tmp`. `echo` adds --echo-logs; `stderr` is where its
    standard error goes (default: with its output, in supervisor.log); `shell_redirect` runs it
    through a shell with that redirection (e.g. `2>&-` to start it with standard error closed)."""

    def __init__(self, tmp: Path, miners: list, grace=10, extra="", metrics_port=None, echo=False, stderr=None,
                 shell_redirect=None):
        self.tmp = tmp
        self.db = tmp / "log.sqlite"
        self.config = tmp / "miners.yaml"
        self.metrics_port = metrics_port
        self.write(miners, grace, extra)
        self.log = open(tmp / "supervisor.log", "w")
        argv = [MINERS_BIN, "supervise", str(self.config)] + (["--echo-logs"] if echo else [])
        if shell_redirect:
            argv = ["/bin/sh", "-c", f'exec "$0" "$@" {shell_redirect}', *argv]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT if stderr is None else stderr)

    def write(self, miners, grace=10, extra=""):
        metrics = f", metrics_port: {self.metrics_port}" if self.metrics_port else ""
        lines = [f"database: {self.db}", f"supervisor: {{grace_period: {grace}{metrics}}}", extra, "miners:"]
        lines += [f"  - {m}" for m in miners]
        self.config.write_text("\n".join(lines) + "\n")

    def status(self):
        return miners_json("status", "--config", str(self.config))

    def miners(self):
        status = self.status()
        return {row["miner"]["name"]: row["miner"] for row in status["miners"]} if status and status.get("supervisor") else {}

    def wait_running(self, names, timeout=20, not_pid=None):
        """The miners once all of `names` run (each with a pid other than `not_pid`: restarted)."""
        def ready():
            miners = self.miners()
            ok = all(miners.get(n, {}).get("state") == "running" and miners[n].get("pid") != not_pid for n in names)
            return miners if ok else None
        miners = wait_until(ready, timeout, interval=0.05)
        assert miners, f"not all running: {self.miners()}; {log_tail(self.log.name)}"
        return miners

    def status_text(self):
        return subprocess.run([MINERS_BIN, "status", "--config", str(self.config)], capture_output=True, text=True,
                              timeout=30).stdout

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def supervisor(tmp_path):
    started = []

    def start(miners, **kwargs):
        s = Supervisor(tmp_path, miners, **kwargs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def miner(i, name, port, **fields):
    extra = "".join(f", {k}: {v}" for k, v in fields.items())
    return f"{{name: {name}, hotkey: {HOTKEYS[i]}, port: {port}{extra}}}"


MOCK40 = f'{{kind: mock, text: "{WORDS40}", delay_ms: 20}}'


def test_killed_worker_comes_back_and_the_others_keep_streaming(supervisor):
    ports = [free_port() for _ in range(3)]
    s = supervisor([miner(i, n, p, streaming_batch_size=4, backend=MOCK40) for i, (n, p) in enumerate(zip("abc", ports))])
    before = s.wait_running("abc")

    async def traffic():
        async def stream_on(index, count):
            return [await ask(ports[index], HOTKEYS[index], question(f"q{k}"), timeout=10) for k in range(count)]
        loops = [asyncio.create_task(stream_on(1, 4)), asyncio.create_task(stream_on(2, 4))]
        await asyncio.sleep(0.3)
        os.kill(before["a"]["pid"], signal.SIGKILL)  # mid-stream for the others
        return await asyncio.gather(*loops)

    killed_at = time.monotonic()
    results = asyncio.run(traffic())
    for finals in results:
        assert all(f.dendrite.status_code == 200 and f.completion == WORDS40 for f in finals)

    after = s.wait_running("a", timeout=10)
    assert time.monotonic() - killed_at < 5
    assert after["a"]["pid"] != before["a"]["pid"]
    assert after["a"]["restarts"] == 1
    assert after["a"]["lastExit"].startswith("signal 9")
    assert after["b"]["pid"] == before["b"]["pid"] and after["c"]["pid"] == before["c"]["pid"]
    final = asyncio.run(ask(ports[0], HOTKEYS[0], question("back?"), timeout=10))
    assert final.dendrite.status_code == 200 and final.completion == WORDS40

    events = [r["event"] for r in query(s.db, "select event from lifecycle where miner = 'a' order by id")]
    assert events[:2] == ["start", "running"]
    assert events[2:] == ["exit", "backoff", "start", "running"]
    exit_row = query(s.db, "select * from lifecycle where miner = 'a' and event = 'exit'")[0]
    assert exit_row["signal"] == 9 and exit_row["detail"] == "unexpected"


async def stream_then_signal(s, port, *signals):
    """Starts a long stream on the first miner, signals the supervisor 0.5 s in (and again
    0.3 s later for each further signal), and returns the dendrite's final synapse."""
    request = asyncio.create_task(ask(port, HOTKEYS[0], question("long"), timeout=15))
    await asyncio.sleep(0.5)
    for index, sig in enumerate(signals):
        if index:
            await asyncio.sleep(0.3)
        s.proc.send_signal(sig)
    return await request


def test_sigterm_lets_a_long_stream_finish_and_logs_it(supervisor):
    port = free_port()
    s = supervisor([miner(0, "slow", port, streaming_batch_size=2,
                          backend='{kind: mock, text: "a b c d e f g h i j k l m n o p q r s t", delay_ms: 100}')])
    s.wait_running(["slow"])

    final = asyncio.run(stream_then_signal(s, port, signal.SIGTERM))
    assert final.dendrite.status_code == 200
    assert final.completion == "a b c d e f g h i j k l m n o p q r s t"
    assert s.proc.wait(timeout=15) == 0
    rows = query(s.db, "select outcome, batches from requests where worker = 'slow'")
    assert [tuple(r) for r in rows] == [("complete", 10)]
    assert [r["event"] for r in query(s.db, "select event from lifecycle where miner is null order by id")] == \
        ["supervisor_start", "supervisor_stop"]
    assert not os.path.exists(str(s.db) + ".control.sock")


def test_sigkill_of_the_supervisor_leaves_no_worker_behind(supervisor):
    ports = [free_port() for _ in range(3)]
    s = supervisor([miner(i, n, p, backend="{kind: mock}") for i, (n, p) in enumerate(zip("abc", ports))])
    pids = [m["pid"] for m in s.wait_running("abc").values()]
    s.proc.kill()
    s.proc.wait()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=2.0), "a worker outlived its supervisor"
    assert all(port_is_free(p) for p in ports)


def test_sighup_changes_exactly_what_changed(supervisor):
    ports = {n: free_port() for n in ["keep", "change", "remove", "add"]}
    keep = miner(0, "keep", ports["keep"], streaming_batch_size=2,
                 backend='{kind: mock, text: "a b c d e f g h i j k l m n o p q r s t", delay_ms: 100}')
    change = miner(1, "change", ports["change"], backend="{kind: mock}")
    s = supervisor([keep, change, miner(2, "remove", ports["remove"], backend="{kind: mock}")])
    before = s.wait_running(["keep", "change", "remove"])

    async def scenario():
        stream = asyncio.create_task(ask(ports["keep"], HOTKEYS[0], question("long"), timeout=15))
        await asyncio.sleep(0.4)
        s.write([keep, miner(1, "change", ports["change"], streaming_batch_size=3, backend="{kind: mock}"),
                 miner(3, "add", ports["add"], backend="{kind: mock}")])
        s.proc.send_signal(signal.SIGHUP)
        return await stream

    final = asyncio.run(scenario())
    assert final.dendrite.status_code == 200 and final.completion == "a b c d e f g h i j k l m n o p q r s t"
    after = s.wait_running(["keep", "change", "add"])
    assert set(after) == {"keep", "change", "add"}
    assert after["keep"]["pid"] == before["keep"]["pid"]
    assert after["change"]["pid"] != before["change"]["pid"] and after["change"]["batchSize"] == 3
    assert not pid_alive(before["remove"]["pid"])
    assert port_is_free(ports["remove"])
    reload = query(s.db, "select detail from lifecycle where event = 'reload'")
    assert reload[0]["detail"].startswith(f"reloaded {s.config}: 1 added, 1 removed, 1 changed, 1 unchanged")


def test_an_invalid_reload_keeps_the_running_set(supervisor):
    port = free_port()
    s = supervisor([miner(0, "a", port, backend="{kind: mock}")])
    before = s.wait_running(["a"])
    s.config.write_text(s.config.read_text().replace("kind: mock", "kind: mokc"))
    out = subprocess.run([MINERS_BIN, "reload", "--config", str(s.config)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "unknown backend 'mokc' (did you mean 'mock'?)" in out.stderr
    assert s.miners()["a"]["pid"] == before["a"]["pid"]


def test_control_commands_and_a_second_supervisor(supervisor, tmp_path):
    port = free_port()
    s = supervisor([miner(0, "a", port, backend="{kind: mock}")])
    s.wait_running(["a"])
    second = subprocess.run([MINERS_BIN, "supervise", str(s.config)], capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert f"another supervisor (pid {s.proc.pid}) is already running for this database" in second.stderr
    check = subprocess.run([MINERS_BIN, "check", str(s.config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 1 and f"miner 'a': field 'port': port {port} on 127.0.0.1 is already in use" in check.stderr

    run = lambda *a: subprocess.run([MINERS_BIN, *a, "--config", str(s.config)], capture_output=True, text=True, timeout=60)
    assert run("stop", "a").returncode == 0
    assert s.miners()["a"]["state"] == "stopped" and port_is_free(port)
    assert run("start", "a").returncode == 0
    s.wait_running(["a"])
    assert run("restart", "nobody").stderr.strip().startswith("no miner or service named 'nobody'")
    table = run("status").stdout
    assert "STATE" in table and "running" in table


def test_status_without_a_supervisor_shows_the_database(supervisor):
    port = free_port()
    s = supervisor([miner(0, "a", port, backend="{kind: mock}")])
    s.wait_running(["a"])
    asyncio.run(ask(port, HOTKEYS[0], question("1+1"), timeout=10))
    s.stop()
    out = subprocess.run([MINERS_BIN, "status", "--db", str(s.db)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert out.stdout.startswith(f"no supervisor is running for {s.db}")
    row = next(line for line in out.stdout.splitlines() if line.startswith("a "))
    assert "stopped" in row and row.split()[-2:] == ["1", "0"]


def test_sixteen_workers_under_load_lose_nothing(supervisor):
    ports = [free_port() for _ in range(16)]
    text = " ".join(f"t{i}" for i in range(30))
    s = supervisor([miner(i, f"m{i:02d}", p, streaming_batch_size=3, backend=f'{{kind: mock, text: "{text}"}}')
                    for i, p in enumerate(ports)])
    s.wait_running([f"m{i:02d}" for i in range(16)], timeout=30)

    async def load(per_worker=25, concurrency=32, budget=60.0):
        semaphore = asyncio.Semaphore(concurrency)
        results = []
        async with aiohttp.ClientSession() as session:
            async def one(port, index, k):
                async with semaphore:
                    results.append(await raw_stream(session, port, HOTKEYS[index], question(f"{port}-{k}")))
            await asyncio.wait_for(asyncio.gather(*(one(p, i, k) for i, p in enumerate(ports) for k in range(per_worker))), budget)
        return results

    results = asyncio.run(load())
    assert len(results) == 16 * 25
    assert all(status == 200 and "".join(chunks) == text for status, chunks in results)
    chunks_seen = sum(len(chunks) for _, chunks in results)
    s.stop()  # flushes every worker's log
    assert s.proc.returncode == 0
    assert query(s.db, "select count(*) from requests")[0][0] == len(results)
    assert query(s.db, "select count(*) from requests where outcome = 'complete'")[0][0] == len(results)
    assert query(s.db, "select count(*) from batches")[0][0] == chunks_seen
    assert query(s.db, "pragma integrity_check")[0][0] == "ok"
    logs = "".join(p.read_text() for p in (s.tmp / "logs").glob("*.log"))
    assert "could not write" not in logs and "locked" not in logs


SLOW30 = '{kind: mock, text: "' + " ".join(f"s{i}" for i in range(30)) + '", delay_ms: 100}'


def test_streams_still_open_after_the_grace_period_end_as_timeouts(supervisor):
    port = free_port()
    s = supervisor([miner(0, "slow", port, streaming_batch_size=2, backend=SLOW30)], grace=1)
    s.wait_running(["slow"])

    started = time.monotonic()
    final = asyncio.run(stream_then_signal(s, port, signal.SIGTERM))
    # The worker closed the stream cleanly after the 1 s grace: 200 with whole batches so far.
    assert final.dendrite.status_code == 200
    assert final.completion and SLOW30.split('"')[1].startswith(final.completion)
    assert time.monotonic() - started < 4
    assert s.proc.wait(timeout=10) == 0
    row = query(s.db, "select * from requests where worker = 'slow'")[0]
    assert row["outcome"] == "partial_timeout"
    assert row["reason"] == "worker stopping: shutdown grace period over"
    assert row["bytes_sent"] == len(final.completion.encode())
    assert len(query(s.db, "select * from timeouts where request_id = ?", (row["id"],))) == 1


def test_a_second_signal_forces_the_stop(supervisor):
    port = free_port()
    s = supervisor([miner(0, "slow", port, streaming_batch_size=2, backend=SLOW30)], grace=30)
    pid = s.wait_running(["slow"])["slow"]["pid"]
    asyncio.run(stream_then_signal(s, port, signal.SIGTERM, signal.SIGINT))
    assert s.proc.wait(timeout=5) == 0
    assert not pid_alive(pid)
    exits = query(s.db, "select signal from lifecycle where miner = 'slow' and event = 'exit'")
    assert [r["signal"] for r in exits] == [9]


def scrape(port):
    """{series: value} of the supervisor's Prometheus text."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}


def test_prometheus_metrics_count_what_the_workers_did(supervisor):
    ports, metrics_port = [free_port(), free_port()], free_port()
    slow = '{kind: mock, text: "a b c d e f g h i j k l m n o p q r s t", delay_ms: 100}'
    s = supervisor([miner(0, "fast", ports[0], streaming_batch_size=4, backend=MOCK40),
                    miner(1, "slow", ports[1], streaming_batch_size=2, timeout=0.8, backend=slow)],
                   metrics_port=metrics_port)
    before = s.wait_running(["fast", "slow"])
    assert scrape(metrics_port)['miners_requests_total{miner="fast",outcome="complete"}'] == 0

    complete = asyncio.run(ask(ports[0], HOTKEYS[0], question("q"), timeout=10))
    partial = asyncio.run(ask(ports[1], HOTKEYS[1], question("q"), timeout=10))  # the miner stops at 0.8 s
    assert complete.dendrite.status_code == 200 and partial.dendrite.status_code == 200
    # A request signed for another miner: refused with 401.
    messages = [question("q")]
    status, _ = asyncio.run(raw_post(ports[0], signed_headers(HOTKEYS[0], messages, sign_for=HOTKEYS[1]),
                                     synapse_body(messages)))
    assert status == 401
    # The worker's log writer flushes every 100 ms: let the row land before the kill.
    assert wait_until(lambda: query(s.db, "select 1 from requests where worker = 'slow'"), timeout=5)
    os.kill(before["slow"]["pid"], signal.SIGKILL)
    s.wait_running(["slow"], timeout=10)

    def settled():
        m = scrape(metrics_port)
        return m if m['miners_worker_restarts_total{miner="slow"}'] == 1 and m['miners_requests_total{miner="fast",outcome="rejected"}'] == 1 else None
    m = wait_until(settled, timeout=5, interval=0.2)
    assert m, scrape(metrics_port)
    assert m['miners_requests_total{miner="fast",outcome="complete"}'] == 1
    assert m['miners_requests_total{miner="slow",outcome="partial_timeout"}'] == 1
    assert m['miners_batches_total{miner="fast"}'] == 10
    assert m['miners_items_sent_total{miner="fast"}'] == 40
    row = query(s.db, "select batches, items_sent, reason from requests where worker = 'slow'")[0]
    assert 0 < row["batches"] < 10
    assert m['miners_batches_total{miner="slow"}'] == row["batches"]
    assert m['miners_items_sent_total{miner="slow"}'] == row["items_sent"]
    reason = query(s.db, "select reason from requests where outcome = 'rejected'")[0]["reason"]
    assert m[f'miners_rejections_total{{miner="fast",status="401",reason="{reason}"}}'] == 1
    assert m['miners_time_to_first_batch_seconds_count{miner="fast"}'] == 1
    assert m['miners_time_to_first_batch_seconds_count{miner="slow"}'] == 1
    assert m['miners_worker_up{miner="slow"}'] == 1 and m['miners_worker_restarts_total{miner="fast"}'] == 0
