"""The boundary against strangers and careless configs (issue 15), each case against real
processes: a timeout no arithmetic can trap on, replays with any timeout, cheap and honest
refusals, one owner per miner, writes bounded by the deadline, overlapping ports, the drain when
the supervisor is killed."""
import asyncio
import socket
import subprocess
import time
import uuid

import aiohttp
import pytest

from interop_support import (
    HOTKEYS, MINERS_BIN, VALIDATOR, ask, free_port, pid_alive, port_is_free, query, question, raw_post,
    signed_headers, synapse_body, wait_until,
)
from fake_llm_servers import FakeLLMServer
from test_dendrite import Worker
from test_supervisor import miner, supervisor  # noqa: F401 (a fixture)

HOTKEY = HOTKEYS[0]
MESSAGES = [question("what is 2 + 2?")]
WORDS = " ".join(f"w{i}" for i in range(200))
CONFIG = f"""
database: unused.sqlite
miners:
  - {{name: edge, hotkey: {HOTKEY}, port: 1, streaming_batch_size: 4, max_request_timeout: 5, max_concurrent_streams: 1,
      max_queued_requests: 4, backend: {{kind: mock, text: "{WORDS}", delay_ms: 5}}}}
  - {{name: fast, hotkey: {HOTKEYS[2]}, port: 3, max_request_timeout: 5, backend: {{kind: mock, text: "a b c"}}}}
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("boundary")
    (tmp / "config.yaml").write_text(CONFIG)
    workers = {"edge": Worker(tmp, "edge", hotkey=HOTKEY), "fast": Worker(tmp, "fast", hotkey=HOTKEYS[2])}
    yield tmp, workers
    for worker in workers.values():
        worker.stop()


def post(port, headers, body):
    return asyncio.run(raw_post(port, headers, body))


def alive(worker):
    return worker.proc.poll() is None


def test_an_unsigned_request_with_a_huge_timeout_is_refused_and_the_worker_lives(env):
    tmp, workers = env
    edge = workers["edge"]
    for value in ["1e21", "1e19", "1e308", "99999999999999999999999"]:
        status, _ = post(edge.port, {"timeout": value, "Content-Type": "application/json"}, "{}")
        assert status == 401
    for value in ["0x10", "inf", "nan", "1e400"]:
        status, payload = post(edge.port, {"timeout": value, "Content-Type": "application/json"}, "{}")
        assert status == 400 and "must be a decimal number" in payload["message"]
    assert alive(edge)
    # Each of them left a row (aggregated): nothing is refused unlogged.
    assert wait_until(lambda: query(tmp / "log.sqlite",
                                    "select coalesce(sum(count), 0) from requests where worker = 'edge' and status in (400, 401)")[0][0] >= 8,
                      timeout=6)


def test_a_signed_request_over_the_budget_is_400_naming_the_limit(env):
    _, workers = env
    edge = workers["edge"]
    status, payload = post(edge.port, signed_headers(HOTKEY, MESSAGES, timeout=1e21), synapse_body(MESSAGES, 3))
    assert status == 400
    assert payload["message"] == "Header 'timeout' asks for 1e+21 s; this miner allows at most 5.0 s (max_request_timeout)"
    # The body's timeout is bounded the same way.
    status, payload = post(edge.port, signed_headers(HOTKEY, MESSAGES, timeout=3), synapse_body(MESSAGES, 1e19))
    assert status == 400 and "Body field 'timeout' asks for 1e+19 s" in payload["message"]
    assert alive(edge)


def test_a_huge_timeout_waiting_for_a_slot_does_not_trap(env):
    """The one stream slot is busy: a request that would wait for it with timeout 1e19 is
    refused before it waits; honest ones still queue and get served."""
    _, workers = env
    edge = workers["edge"]

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async def one(timeout):
                headers = signed_headers(HOTKEY, MESSAGES, timeout=timeout, session=str(uuid.uuid4()))
                async with session.post(f"http://127.0.0.1:{edge.port}/StreameinsteinSynapse",
                                        data=synapse_body(MESSAGES, min(timeout, 5)), headers=headers) as response:
                    await response.read()
                    return response.status
            busy = asyncio.create_task(one(5))
            await asyncio.sleep(0.2)
            return await asyncio.gather(one(1e19), one(4)), await busy
    (huge, honest), first = asyncio.run(scenario())
    assert (huge, honest, first) == (400, 200, 200)
    assert alive(edge)


def test_a_replay_is_401_whatever_timeout_it_claims(env):
    """The window and the memory come from max_request_timeout (5 s here), not the header."""
    _, workers = env
    fast = workers["fast"]
    headers = signed_headers(HOTKEYS[2], MESSAGES, timeout=3, session="replayed")
    assert post(fast.port, headers, synapse_body(MESSAGES, 3))[0] == 200
    for delay, claimed in [(1, "1000000"), (9, "1000000"), (0, "1e21"), (0, "4")]:
        time.sleep(delay)
        replay = dict(headers, timeout=claimed)
        status, payload = post(fast.port, replay, synapse_body(MESSAGES, 3))
        assert status == 401, (delay, claimed, payload)
        assert payload["message"].startswith("Not Verified with error: Nonce is too old")


@pytest.mark.parametrize("copies", [2, 4])
def test_simultaneous_copies_of_a_signed_request_admit_at_most_one(env, copies):
    tmp, workers = env
    fast = workers["fast"]

    async def trial(session, index):
        headers = signed_headers(HOTKEYS[2], MESSAGES, timeout=5, session=f"copies-{copies}-{index}")
        body = synapse_body(MESSAGES, 5)

        async def one():
            async with session.post(f"http://127.0.0.1:{fast.port}/StreameinsteinSynapse", data=body, headers=headers) as r:
                await r.read()
                return r.status
        return await asyncio.gather(*[one() for _ in range(copies)])

    async def run():
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            return [await trial(session, i) for i in range(40)]
    results = asyncio.run(run())
    assert all(statuses.count(200) <= 1 for statuses in results), results
    # Each trial's one admitted copy is the only row with its nonce.
    rows = query(tmp / "log.sqlite", "select uuid, nonce, count(*) as n from requests where outcome != 'rejected' "
                                     "and uuid like ? group by uuid, nonce having n > 1", (f"copies-{copies}-%",))
    assert rows == []


def test_unsigned_refusals_are_cheap_aggregated_and_blame_nobody(env):
    """A flood of unsigned requests naming a real validator's hotkey, with the biggest headers
    allowed: at most 2 KB of database and of log per refusal, rows aggregated, the validator
    named only as a claim."""
    tmp, workers = env
    fast = workers["fast"]
    db = tmp / "log.sqlite"
    log = tmp / "fast.log"

    def size():
        files = [db, db.with_name(db.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()), log.stat().st_size

    wait_until(lambda: False, timeout=1.5)  # let earlier rows settle
    before_db, before_log = size()
    junk = "x" * 3000
    headers = {"bt_header_dendrite_hotkey": VALIDATOR.ss58_address, "bt_header_dendrite_uuid": junk,
               "bt_header_dendrite_nonce": str(time.time_ns()), "bt_header_dendrite_signature": "0x" + "ab" * 64,
               "computed_body_hash": junk, "timeout": "12", "Content-Type": "application/json"}
    sent = 0

    async def flood(count=3000, budget=30.0):
        nonlocal sent
        deadline = time.monotonic() + budget
        connector = aiohttp.TCPConnector(limit=32)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one():
                nonlocal sent
                async with session.post(f"http://127.0.0.1:{fast.port}/StreameinsteinSynapse", data="{}", headers=headers) as r:
                    await r.read()
                    assert r.status == 401
                    sent += 1
            while sent < count and time.monotonic() < deadline:
                await asyncio.gather(*[one() for _ in range(100)])
    asyncio.run(flood())
    assert sent >= 1000
    # Everything refused is counted, in few rows.
    counted = lambda: query(db, "select coalesce(sum(count), 0), count(*) from requests where worker = 'fast' "
                                "and claimed_hotkey = ?", (VALIDATOR.ss58_address,))[0]
    assert wait_until(lambda: counted()[0] >= sent, timeout=8), counted()
    total, rows = counted()
    assert rows <= total / 10
    grown_db, grown_log = (a - b for a, b in zip(size(), (before_db, before_log)))
    assert grown_db / sent <= 2048, grown_db / sent
    assert grown_log / sent <= 2048, grown_log / sent
    # Nobody verified: the validator is named as a claim only.
    assert query(db, "select count(*) from requests where validator_hotkey = ? and outcome = 'rejected' "
                     "and reason = 'bad_signature'", (VALIDATOR.ss58_address,))[0][0] == 0
    assert alive(fast)


def test_a_client_that_stops_reading_is_cut_at_the_deadline_and_frees_its_slot(tmp_path):
    # 20 MB of answer, far more than the kernel's socket buffers hold: the writes stall.
    server = FakeLLMServer()
    server.tokens = ["x" * 999 + " "] * 20_000
    (tmp_path / "config.yaml").write_text(f"""database: unused.sqlite
miners:
  - {{name: reader, hotkey: {HOTKEYS[1]}, port: 1, streaming_batch_size: 100, max_concurrent_streams: 1,
      backend: {{kind: openai, base_url: "http://127.0.0.1:{server.port}/v1", model: fake}}}}
""")
    reader = Worker(tmp_path, "reader", hotkey=HOTKEYS[1])
    try:
        stalled_reader_is_cut(tmp_path, reader)
    finally:
        reader.stop()
        server.stop()


def stalled_reader_is_cut(tmp, reader):
    messages = [question("read nothing")]
    body = synapse_body(messages, 3).encode()
    headers = signed_headers(HOTKEYS[1], messages, timeout=3, session="stalled")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", reader.port))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(f"POST /StreameinsteinSynapse HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    started = time.monotonic()
    # Read nothing: the worker's writes stall. Its one stream slot must come back after the
    # deadline (3 s) plus the 1 s margin, not when we close the socket.
    time.sleep(1)

    async def honest():
        """Its answer's head arrives once it has the slot (the answer itself is 20 MB: not read)."""
        h = signed_headers(HOTKEYS[1], messages, timeout=8, session="honest-after-stall")
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{reader.port}/StreameinsteinSynapse",
                                    data=synapse_body(messages, 8), headers=h) as r:
                return r.status, time.monotonic() - started
    status, at = asyncio.run(honest())
    assert status == 200
    assert 3 < at < 3 + 1 + 2.5, at  # queued behind the stalled stream until the worker cut it
    # The stalled connection was closed by the worker.
    assert closed_within(sock, 5)
    sock.close()
    row = wait_until(lambda: query(tmp / "log.sqlite", "select * from requests where uuid = 'stalled'"), timeout=5)[0]
    assert row["reason"].startswith("slow_reader")
    assert row["finished_at"] - row["received_at"] < 3 + 1 + 1.5


def closed_within(sock, seconds):
    """True when the peer closes the connection within `seconds` (reads until EOF)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(1 << 20):
            pass
        return True
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False


def test_a_second_worker_for_a_miner_refuses_and_names_the_first(env):
    tmp, workers = env
    edge = workers["edge"]
    before = query(tmp / "log.sqlite", "select count(*) from requests where reason like '%interrupted%'")[0][0]
    out = subprocess.run([MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", "edge", "--port", "0",
                          "--db", str(tmp / "log.sqlite")], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert f"miner 'edge' is already served by pid {edge.proc.pid}" in out.stderr
    assert query(tmp / "log.sqlite", "select count(*) from requests where reason like '%interrupted%'")[0][0] == before
    assert alive(edge)


def test_check_refuses_a_wildcard_and_a_specific_address_on_one_port(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"""database: {tmp_path}/db.sqlite
miners:
  - {{name: a, hotkey: {HOTKEYS[0]}, host: 0.0.0.0, port: 20999, backend: {{kind: mock}}}}
  - {{name: b, hotkey: {HOTKEYS[1]}, host: 127.0.0.1, port: 20999, backend: {{kind: mock}}}}
""")
    out = subprocess.run([MINERS_BIN, "check", str(config)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "miner 'b': field 'port': port 20999 on 127.0.0.1 is already used by miner 'a'" in out.stderr


def test_check_refuses_a_duration_no_clock_can_hold(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"""database: {tmp_path}/db.sqlite
supervisor: {{grace_period: 1e30}}
miners:
  - {{name: a, hotkey: {HOTKEYS[0]}, port: 20998, backend: {{kind: mock}}}}
""")
    out = subprocess.run([MINERS_BIN, "check", str(config)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "c.yaml:2: field 'supervisor.grace_period': expected a number of seconds from 0 to 3600, got '1e30'" in out.stderr


SLOW = '{kind: mock, text: "' + " ".join(f"s{i}" for i in range(60)) + '", delay_ms: 100}'


def test_when_the_supervisor_is_killed_open_streams_drain_for_half_a_second(supervisor):
    port = free_port()
    s = supervisor([miner(0, "slow", port, streaming_batch_size=2, backend=SLOW)], grace=20)
    pid = s.wait_running(["slow"])["slow"]["pid"]

    async def scenario():
        request = asyncio.create_task(ask(port, HOTKEYS[0], question("long"), timeout=15))
        await asyncio.sleep(1.0)
        s.proc.kill()
        killed = time.monotonic()
        final = await request
        return final, time.monotonic() - killed
    final, took = asyncio.run(scenario())
    # The stream ended cleanly half a second later: 200, whole batches so far.
    assert final.dendrite.status_code == 200
    assert final.completion and SLOW.split('"')[1].startswith(final.completion)
    assert took < 3, took
    assert wait_until(lambda: not pid_alive(pid), timeout=3)
    assert port_is_free(port)
    row = query(s.db, "select * from requests where worker = 'slow'")[0]
    assert row["outcome"] == "partial_timeout"
    assert row["reason"] == "worker stopping: shutdown grace period over"


TIGHT = f"""database: unused.sqlite
miners:
  - {{name: tight, hotkey: {HOTKEYS[3]}, port: 1, header_timeout: 2, body_timeout: 2, idle_timeout: 20,
      max_connections: 8, max_connections_per_ip: 4, max_requests_per_minute: 5, backend: {{kind: mock, text: "a b c"}}}}
"""


@pytest.fixture
def tight(tmp_path):
    (tmp_path / "config.yaml").write_text(TIGHT)
    worker = Worker(tmp_path, "tight", hotkey=HOTKEYS[3])
    worker.tmp = tmp_path
    yield worker
    worker.stop()


def signed_once(worker, session):
    messages = [question(session)]
    return post(worker.port, signed_headers(worker.hotkey, messages, timeout=5, session=session), synapse_body(messages, 5))[0]


def test_clients_that_pipeline_refusals_cannot_fill_the_table(tight):
    """Each attacker connection pipelines a thousand refused requests and reads none of the
    answers, to stay 'in a request' (unevictable) for as long as its pipeline lasts. A refusal
    ends its connection, so each is closed after its first answer; the table's 8 slots never
    lock a validator out."""
    request = b"GET /" + b"A" * 2000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"

    def stuck(source):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", tight.port))
        sock.setblocking(False)
        data, deadline = request * 1200, time.monotonic() + 3
        while data and time.monotonic() < deadline:
            try:
                data = data[sock.send(data):]
            except BlockingIOError:
                time.sleep(0.02)
            except OSError:
                break
        return sock

    socks = [stuck(f"127.0.0.{2 + i // 4}") for i in range(8)]
    try:
        assert [signed_once(tight, f"validator-{i}") for i in range(3)] == [200, 200, 200]
        for sock in socks:
            sock.setblocking(True)
            assert closed_within(sock, 5)
    finally:
        for sock in socks:
            sock.close()
    # A few of each pipeline's 1,200 requests were answered before its connection closed.
    refused = lambda: query(tight.tmp / "log.sqlite", "select coalesce(sum(count), 0) from requests where reason = 'unknown_synapse'")[0][0]
    assert wait_until(lambda: refused() >= 8, timeout=5)
    assert refused() <= 8 * 200
    assert alive(tight)


def test_a_late_body_does_not_stretch_the_next_requests_header_deadline(tight):
    """A head with Content-Length, refused before its body; the body comes later, then the next
    head trickles in a byte at a time: cut at header_timeout (2 s), not at idle_timeout (20 s)."""
    sock = socket.create_connection(("127.0.0.1", tight.port), timeout=5)
    sock.sendall(b"POST /StreameinsteinSynapse HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n")
    sock.settimeout(3)
    assert sock.recv(65536).startswith(b"HTTP/1.1 401")
    sock.sendall(b"hello")
    started = time.monotonic()
    sock.settimeout(0.2)
    closed = False
    for byte in b"POST /StreameinsteinSynapse HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * 100:
        if time.monotonic() - started > 10:
            break
        try:
            sock.send(bytes([byte]))
            if sock.recv(65536) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
        time.sleep(0.2)
    sock.close()
    assert closed and time.monotonic() - started < 2 + 2, time.monotonic() - started


def test_a_replay_after_a_restart_is_refused(tight):
    """The nonce table lives in memory; a starting worker reads back what its miner served."""
    messages = [question("before the restart")]
    headers = signed_headers(tight.hotkey, messages, timeout=5, session="across-a-restart")
    assert post(tight.port, headers, synapse_body(messages, 5))[0] == 200
    tight.stop()
    again = Worker(tight.tmp, "tight", hotkey=HOTKEYS[3])
    try:
        status, payload = post(again.port, dict(headers, timeout="300"), synapse_body(messages, 5))
        assert status == 401 and payload["message"].startswith("Not Verified with error: Nonce is too old")
    finally:
        again.stop()


def test_a_signed_flood_is_rate_limited_and_aggregated(tight):
    """Anyone can make a key and sign: 429s (counted before any other check) are aggregated rows."""
    results = [signed_once(tight, f"flood-{i}") for i in range(300)]
    assert results.count(200) == 5 and results.count(429) == 295
    # Over the budget too: still the rate limit's 429, not a row of its own per request.
    messages = [question("x")]
    assert post(tight.port, signed_headers(tight.hotkey, messages, timeout=1e9, session="flood-x"), synapse_body(messages, 5))[0] == 429
    counted = lambda: query(tight.tmp / "log.sqlite", "select coalesce(sum(count), 0), count(*) from requests where reason = 'rate_limited'")[0]
    assert wait_until(lambda: counted()[0] == 296, timeout=6), counted()
    assert counted()[1] <= 20
