"""Connection floods and HTTP/1 corners against real workers with the default connection limits
(1024 in all, 64 per address): idle connections held by the thousand, from one address and from
many, do not lock signed requests out; HTTP/1.0 gets an answer it can read; `Expect:
100-continue` gets its `100 Continue`.

The flood runs in its own process (flood_client.py): bounded in time and in connections opened.
"""
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from interop_support import HOTKEYS, query, question, raw_stream, signed_headers, synapse_body, wait_until
from test_dendrite import Worker

KEYS = {"one_address": HOTKEYS[7], "many_addresses": HOTKEYS[8], "http1": HOTKEYS[9], "tight": HOTKEYS[10]}
TEXT = "one two three four five six seven eight"
LIMITS = {"tight": ", max_connections: 4, max_connections_per_ip: 4"}
CONFIG = "database: unused.sqlite\nminers:\n" + "".join(
    f'  - {{name: {name}, hotkey: {key}, port: {port}, streaming_batch_size: 4{LIMITS.get(name, "")}, '
    f'backend: {{kind: mock, text: "{TEXT}"}}}}\n'
    for port, (name, key) in enumerate(KEYS.items(), start=1)
)
FLOOD = Path(__file__).with_name("flood_client.py")
HONEST = 25

# 1024 flood sockets here and as many in each worker (a child inherits the limit).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < 8192:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(_hard, 8192), _hard))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flood")
    (tmp / "config.yaml").write_text(CONFIG)
    workers = {}

    def worker(name):
        if name not in workers:
            workers[name] = Worker(tmp, name, hotkey=KEYS[name])
            workers[name].tmp = tmp
        return workers[name]

    yield tmp, worker
    for w in workers.values():
        w.stop()


class Flood:
    """flood_client.py in a process of its own, for the length of a `with` block (at most
    `duration` seconds); `stats` holds its figures once it has ended."""

    def __init__(self, port, sources="127.0.0.1", size=1024, duration=40.0):
        self.args = [sys.executable, str(FLOOD), str(port), "--sources", sources, "--size", str(size),
                     "--duration", str(duration)]
        self.stats = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready", "the flood did not start"
        return self

    @property
    def running(self):
        return self.proc.poll() is None

    def __exit__(self, *exc):
        try:
            out, _ = self.proc.communicate(timeout=15)  # closing its stdin tells it to stop
            self.stats = json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            self.proc.kill()
            self.proc.wait()


async def honest_requests(port, hotkey, count=HONEST, source="127.0.0.1"):
    """Signed requests one after another: the first half each on a new connection, the rest on
    one kept-alive session, as a validator's pool would. Returns (status or error, seconds) each."""
    results = []

    async def one(session, index):
        started = time.monotonic()
        try:
            status, chunks = await raw_stream(session, port, hotkey, question(f"honest {index}"), timeout=10.0)
            ok = status != 200 or "".join(chunks) == TEXT
            results.append((status if ok else f"{status} with {''.join(chunks)!r}", time.monotonic() - started))
        except Exception as error:  # a refused or cut connection: what the validator would see
            results.append((f"{type(error).__name__}: {error}", time.monotonic() - started))

    for index in range(count // 2 + 1):
        connector = aiohttp.TCPConnector(force_close=True, local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            await one(session, index)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0))) as session:
        for index in range(count // 2 + 1, count):
            await one(session, index)
    return results


def descriptors(worker):
    return len(os.listdir(f"/proc/{worker.proc.pid}/fd"))


def flood_then_ask(worker, sources, held, honest_from="127.0.0.1"):
    """Floods the worker from `sources` until it holds `held` of the flood's connections, then
    makes the honest requests from `honest_from` while the flood goes on."""
    baseline = descriptors(worker)
    with Flood(worker.port, sources=sources) as flood:
        # Connections beyond the listen backlog wait for a SYN retry: wait for the worker to hold them.
        assert wait_until(lambda: descriptors(worker) - baseline >= held, timeout=20), \
            f"the worker holds {descriptors(worker) - baseline} of the flood's connections, not {held}"
        # The first connections' header deadlines (long: they came to an empty table) pass, the
        # flood reopens them into a full table: the steady state the validators meet.
        time.sleep(3)
        started = time.monotonic()
        results = asyncio.run(asyncio.wait_for(honest_requests(worker.port, worker.hotkey, source=honest_from), timeout=120))
        elapsed = time.monotonic() - started
        still_flooding = flood.running
        held_after = descriptors(worker) - baseline
    statuses = [status for status, _ in results]
    seconds = sorted(s for _, s in results)
    failures = [status for status in statuses if status != 200]
    print(f"\nflood from {sources}, honest from {honest_from}: {statuses.count(200)}/{len(results)} honest requests got 200 "
          f"in {elapsed:.1f} s (p50 {seconds[len(seconds) // 2]:.3f} s, max {seconds[-1]:.3f} s) {failures or ''}; "
          f"flood: {flood.stats}")
    # The measurement only counts if the flood lasted through it and still filled the worker's share.
    assert still_flooding, "the flood ended before the honest requests did"
    assert held_after >= held * 0.9, f"the worker held {held_after} of the flood's connections at the end"
    # The flood's connections made room for the validator's: evicted, and logged as such.
    assert wait_until(lambda: refusal_count(worker, "evicted_idle") > 0, timeout=5)
    return statuses


def refusal_count(worker, reason):
    rows = query(worker.tmp / "log.sqlite", "select count(*) as n from requests where worker = ? and reason = ?",
                 (worker.name, reason))
    return rows[0]["n"] if rows else 0


def test_a_flood_from_one_address_does_not_lock_validators_out(env):
    tmp, worker = env
    w = worker("one_address")
    # The flood's address may hold 64 (max_connections_per_ip); a validator is elsewhere.
    statuses = flood_then_ask(w, "127.0.0.1", held=64, honest_from="127.0.0.251")
    assert statuses.count(200) >= 24, statuses


def test_a_flood_from_many_addresses_does_not_lock_validators_out(env):
    tmp, worker = env
    w = worker("many_addresses")
    statuses = flood_then_ask(w, "127.0.0.2-127.0.0.250", held=1000)
    assert statuses.count(200) >= 24, statuses


def test_connections_in_a_request_are_never_evicted(env):
    tmp, worker = env
    w = worker("tight")  # 4 connections
    requests = [raw_request(w.hotkey, extra="Connection: close\r\n", session=f"in-request-{i}") for i in range(4)]
    socks = [socket.create_connection(("127.0.0.1", w.port), timeout=5) for _ in requests]
    try:
        for sock, (head, _) in zip(socks, requests):
            sock.sendall(head)  # the head only: each request waits for its body
        time.sleep(1.0)
        # All four are in a request: the fifth cannot evict any, and is closed on arrival.
        with socket.create_connection(("127.0.0.1", w.port), timeout=5) as newcomer:
            assert read_until_closed(newcomer, 5) == b""
        for sock, (_, body) in zip(socks, requests):
            sock.sendall(body)
        answers = [read_until_closed(sock) for sock in socks]
        assert all(answer.startswith(b"HTTP/1.1 200 OK") for answer in answers), [a[:40] for a in answers]
    finally:
        for sock in socks:
            sock.close()
    assert wait_until(lambda: refusal_count(w, "too_many_connections") > 0, timeout=5)
    assert refusal_count(w, "evicted_idle") == 0


def raw_request(hotkey, version="HTTP/1.1", extra="", body=None, messages=None, session="raw-http1"):
    messages = messages or [question("raw http1")]
    headers = signed_headers(hotkey, messages, session=session)
    body = synapse_body(messages).encode() if body is None else body
    head = f"POST /StreameinsteinSynapse {version}\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + extra + f"Content-Length: {len(body)}\r\n\r\n").encode(), body


def read_until_closed(sock, limit=10.0):
    sock.settimeout(limit)
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the connection was not closed within {limit} s: {data[:200]!r}")


def test_http10_gets_an_answer_it_can_read(env):
    tmp, worker = env
    w = worker("http1")
    head, body = raw_request(w.hotkey, version="HTTP/1.0", session="http10")
    with socket.create_connection(("127.0.0.1", w.port), timeout=5) as sock:
        sock.sendall(head + body)
        answer = read_until_closed(sock)
    status_line, _, rest = answer.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert status_line == b"HTTP/1.0 200 OK", answer[:300]
    assert b"transfer-encoding" not in headers.lower()
    assert b"connection: close" in headers.lower()
    assert payload.decode() == TEXT  # the batches as they were sent, ended by the close
    # A refusal has a length and is just as readable.
    with socket.create_connection(("127.0.0.1", w.port), timeout=5) as sock:
        sock.sendall(b"GET /StreameinsteinSynapse HTTP/1.0\r\n\r\n")
        answer = read_until_closed(sock)
    status_line, _, rest = answer.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert status_line.startswith(b"HTTP/1.0 405"), answer[:300]
    assert b"transfer-encoding" not in headers.lower()
    assert "Method Not Allowed" in json.loads(payload)["message"]


def test_expect_100_continue_is_answered_before_the_body(env):
    tmp, worker = env
    w = worker("http1")
    head, body = raw_request(w.hotkey, extra="Expect: 100-continue\r\nConnection: close\r\n", session="expect-continue")
    with socket.create_connection(("127.0.0.1", w.port), timeout=5) as sock:
        sock.sendall(head)
        sock.settimeout(5)
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            chunk = sock.recv(1)
            assert chunk, f"closed before 100 Continue: {interim!r}"
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:300]
    _, _, chunked = answer.partition(b"\r\n\r\n")
    text = b""
    while chunked:
        size, _, chunked = chunked.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        text += chunked[:n]
        chunked = chunked[n + 2:]
    assert text.decode() == TEXT
