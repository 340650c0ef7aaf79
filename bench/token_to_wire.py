"""Token → wire: how long a token takes from leaving the backend to reaching the validator.

    .venv/bin/python bench/token_to_wire.py [--concurrency 1,16,64] [--seconds 6] [--rounds 1]
        [--targets direct,swift,python] [--bin .build/release/miners | --bin before=PATH,after=PATH]
        [--tokens-per-second 50] [--markdown FILE] [--perf DIR]

A stand-in backend (a raw asyncio HTTP/1.1 server in a process of its own, the cheapest thing
that speaks the protocol) answers `POST /v1/chat/completions` with `stream: true` as vLLM does:
a chunked `text/event-stream`, one `chat.completion.chunk` event per token (vLLM's layout, ~200
bytes), then a `finish_reason` chunk, a usage chunk and `data: [DONE]`. It paces each stream
like a real model: a token every 1/50 s (the first one 1/50 s after the request), 40–100 tokens
per answer, the last six ` So the final answer is: N`. Just before writing each token it stores
the token's emit time (CLOCK_MONOTONIC, the same clock in every process of this machine) in a side
table keyed by (stream id, token index); the stream id travels in the question text, and the
client fetches the table after each cell.

The client (this process, plain asyncio sockets, no HTTP library) stamps every read with the
same clock the moment `data_received` gets it, de-chunks the body and maps each byte back to its
token (the answer of a stream id is deterministic, so the client knows where each token ends):
a token's latency is the time of the read that completed it minus its emit time. Paths:
- direct: the client reads the stand-in itself (SSE events) — the floor: loopback, the kernel,
  both Python event loops;
- swift: `miners worker` with `backend: {kind: openai, base_url: <stand-in>}`,
  `streaming_batch_size: 1`, `max_concurrent_streams: 64`, a metagraph blacklist
  (`require_validator_permit`, `min_stake`) and its request log on, as in production;
  `--bin LABEL=PATH,LABEL=PATH` measures several builds side by side (swift-LABEL);
- python: the subnet guide's template miner (`bench/python_reference_miner.py
  --openai-base-url`: the guide's `_forward` on a real bittensor 10.5.0 axon, tokens from an
  aiohttp SSE client to the stand-in), batch size 1.
Requests to the miners are what bittensor 10.5.0's dendrite sends (its own
`preprocess_synapse_for_request`: nonce, uuid, sr25519 signature; the synapse's headers and
body), one dendrite per client slot, made before each cell starts so that signing (~1 ms each
in Python) does not delay the client's reads of the other streams.

At each concurrency C, C client slots run streams back to back for `--seconds` (a stream
started before the end runs to its end). "added" = the path's percentile minus the direct
floor's at the same concurrency. CPU per token = the miner process's utime+stime from
/proc/PID/stat over the measured window (all threads; 10 ms ticks) divided by the tokens that
reached the client (the schedstat sum of its threads, in ns, is a cross-check). With `--rounds
N` everything is measured N times with fresh miner processes, paths alternating in order; the
table pools the latencies and gives CPU per token over all rounds with the rounds' range.

Honesty: the client, the stand-in and the miner share this machine's cores (the table shows
each one's share of a core, and the whole machine's); the figures include the client's own
loop delay (as the floor does). The client's garbage collector is off during a cell (a full
collection of bittensor's heap takes tens of ms) and so is the stand-in's. As root, the three
processes run at nice -10 (`--nice`) so that other work on a shared machine disturbs them less;
it still does: compare builds within one run (`--bin A=..,B=..`), not across runs.
Every load is on loopback, bounded in time (`--seconds` per cell, streams ≤ 2 s) and count
(`--max-streams` per slot). `--perf DIR` records the Swift worker of each cell with `perf
record -g` (frame pointers; it slows the worker: not for figures), which `bench/perf_split.py`
splits by stage of the relay. Not part of the test run.
"""
import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
STREAM_TAG = "tok2wire-"
VOCAB = ["Let", "x", "be", "the", "number", "asked", "for.", "We", "add", "two", "and", "then", "multiply", "by",
         "three,", "which", "gives", "a", "sum", "of", "terms;", "each", "step", "is", "checked", "once", "more",
         "so", "that", "result", "holds.", "First", "second", "value", "equals", "seven", "hence", "we", "get"]


# ---------------------------------------------------------------------------------------------
# The answer of a stream: deterministic from its id, so the client knows every token's bytes.

def answer_tokens(stream_id):
    rng = random.Random(stream_id)
    count = rng.randint(40, 100)
    number = rng.randint(2, 999)
    tail = [" So", " the", " final", " answer", " is:", f" {number}"]
    body = [rng.choice(VOCAB) for _ in range(count - len(tail))]
    return [body[0]] + [" " + word for word in body[1:]] + tail


# ---------------------------------------------------------------------------------------------
# The stand-in backend: a raw asyncio HTTP/1.1 server (keep-alive, one request at a time per
# connection), run as `token_to_wire.py --serve-standin` in a process of its own.

class StandinServer:
    def __init__(self, interval):
        self.interval = interval
        self.stamps = {}  # stream id -> [emit time ns of token k]
        self.served = 0


def sse_chunk(payload):
    event = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


class StandinConnection(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.buffer = b""
        self.busy = False
        self.handle = None
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if self.handle is not None:
            self.handle.cancel()
        self.transport = None

    def data_received(self, data):
        self.buffer += data
        self.next_request()

    def next_request(self):
        while not self.busy and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            method, path = head[0].split(" ")[:2]
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            if method == "POST" and path.endswith("/chat/completions"):
                self.start_stream(body)
            elif path.startswith("/stamps"):
                payload = json.dumps(self.server.stamps).encode()
                self.server.stamps = {}
                self.respond(200, payload)
            else:
                self.respond(404, b'{"error": {"message": "not found"}}')

    def respond(self, status, payload):
        self.transport.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(payload), payload))

    def start_stream(self, body):
        match = re.search(rb"tok2wire-(\d+)", body)
        if match is None:
            self.respond(400, b'{"error": {"message": "no stream id in the request"}}')
            return
        self.busy = True
        self.server.served += 1
        stream_id = int(match.group(1))
        self.stream_id = stream_id
        self.created = int(time.time())
        self.tokens = answer_tokens(stream_id)
        self.emitted = self.server.stamps.setdefault(str(stream_id), [])
        self.prefix = (b'{"id":"chatcmpl-%d","object":"chat.completion.chunk","created":%d,"model":"standin",'
                       b'"choices":[{"index":0,"delta":{"content":' % (stream_id, self.created))
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                             b"transfer-encoding: chunked\r\n\r\n")
        self.started = asyncio.get_running_loop().time()
        self.schedule(0)

    def schedule(self, index):
        loop = asyncio.get_running_loop()
        self.handle = loop.call_at(self.started + (index + 1) * self.server.interval, self.emit, index)

    def emit(self, index):
        if self.transport is None:
            return
        token = self.tokens[index]
        chunk = sse_chunk(self.prefix + json.dumps(token).encode()
                          + b'},"logprobs":null,"finish_reason":null}]}')
        self.emitted.append(time.monotonic_ns())
        self.transport.write(chunk)
        if index + 1 < len(self.tokens):
            self.schedule(index + 1)
            return
        head = b'{"id":"chatcmpl-%d","object":"chat.completion.chunk","created":%d,"model":"standin",' % (
            self.stream_id, self.created)
        self.transport.write(
            sse_chunk(head + b'"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}')
            + sse_chunk(head + b'"choices":[],"usage":{"prompt_tokens":60,"completion_tokens":%d,"total_tokens":%d}}'
                        % (len(self.tokens), 60 + len(self.tokens)))
            + sse_chunk(b"[DONE]") + b"0\r\n\r\n")
        self.handle = None
        self.busy = False
        self.next_request()


def serve_standin(interval):
    # No cyclic garbage collection in the stand-in: a collection pauses the loop (tens of ms in
    # a big heap) and would show as latency; it only makes short-lived acyclic objects.
    gc.disable()

    async def main():
        server = StandinServer(interval)
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(lambda: StandinConnection(server), "127.0.0.1", 0, backlog=1024)
        print(f"listening on 127.0.0.1:{listener.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------------------------------------
# The client: one kept-alive connection per slot, a raw HTTP/1.1 response parser (chunked or
# content-length), every read stamped on arrival.

class ResponseError(Exception):
    pass


class ClientConnection(asyncio.Protocol):
    def __init__(self):
        self.transport = None
        self.done = None
        self.lost = False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.lost = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(ResponseError(f"connection closed: {exc}"))

    def send(self, request, on_body):
        """Writes `request`; `on_body(t_ns, bytes)` gets the de-chunked body as it arrives. Returns a
        future of (status, body-if-not-200)."""
        self.done = asyncio.get_running_loop().create_future()
        self.on_body = on_body
        self.head = b""
        self.state = "head"
        self.pending = b""
        self.status = None
        self.error_body = b""
        self.transport.write(request)
        return self.done

    def data_received(self, data):
        now = time.monotonic_ns()
        if self.state == "head":
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.head[:end].decode("latin-1").split("\r\n")
            self.status = int(lines[0].split(" ")[1])
            data = self.head[end + 4:]
            self.head = b""
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.close_after = headers.get("connection", "").lower() == "close"
            if headers.get("transfer-encoding", "").lower() == "chunked":
                self.state = "chunked"
            else:
                self.state = "length"
                self.remaining = int(headers.get("content-length", "0"))
        if self.state == "length":
            take = data[:self.remaining]
            self.remaining -= len(take)
            self.deliver(now, take)
            if self.remaining == 0:
                self.finish()
            return
        if self.state != "chunked":
            return
        buffer = self.pending + data if self.pending else data
        position = 0
        out = []
        while True:
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                break
            size = int(buffer[position:line_end].split(b";", 1)[0], 16)
            if size == 0:
                if len(buffer) < line_end + 4:
                    break  # the blank line after the last chunk has not arrived yet (no trailers are sent)
                if out:
                    self.deliver(now, b"".join(out))
                self.pending = b""
                self.finish()
                return
            if len(buffer) < line_end + 2 + size + 2:
                break
            out.append(buffer[line_end + 2:line_end + 2 + size])
            position = line_end + 2 + size + 2
        self.pending = buffer[position:]
        if out:
            self.deliver(now, b"".join(out) if len(out) > 1 else out[0])

    def deliver(self, now, data):
        if self.status == 200:
            self.on_body(now, data)
        else:
            self.error_body += data

    def finish(self):
        self.state = "idle"
        if not self.done.done():
            self.done.set_result((self.status, self.error_body))
        if self.close_after:
            self.transport.close()


class TokenClock:
    """Maps a stream's received bytes (the miners' batches: token texts joined) to its tokens."""

    def __init__(self, tokens):
        self.ends = []
        total = 0
        for token in tokens:
            total += len(token.encode())
            self.ends.append(total)
        self.received = 0
        self.arrival = []  # arrival time ns of token k
        self.body = []

    def on_body(self, now, data):
        self.body.append(data)
        self.received += len(data)
        ends, arrival = self.ends, self.arrival
        while len(arrival) < len(ends) and ends[len(arrival)] <= self.received:
            arrival.append(now)


class EventClock:
    """The direct floor: token k arrives with the SSE event that carries it."""
    marker = b'"delta":{"content":'

    def __init__(self, tokens):
        self.expected = len(tokens)
        self.arrival = []
        self.partial = b""

    def on_body(self, now, data):
        data = self.partial + data
        events = data.split(b"\n\n")
        self.partial = events.pop()
        for event in events:
            if self.marker in event:
                self.arrival.append(now)


# ---------------------------------------------------------------------------------------------
# Processes and /proc readings

def cpu_ticks_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_runtimes(pid):
    """{tid: on-CPU ns} from /proc/PID/task/*/schedstat."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[task.name] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def machine_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CPUWindow:
    def __init__(self, pid):
        self.pid = pid
        self.ticks = cpu_ticks_seconds(pid)
        self.threads = thread_runtimes(pid)
        self.started = time.monotonic()

    def stop(self):
        ticks = cpu_ticks_seconds(self.pid) - self.ticks
        after = thread_runtimes(self.pid)
        sched = sum(after[t] - self.threads[t] for t in after if t in self.threads) / 1e9
        wall = time.monotonic() - self.started
        return {"cpu_s": ticks, "sched_s": sched, "wall_s": wall}


class Process:
    """A child that prints `listening on 127.0.0.1:PORT` when ready."""

    def __init__(self, label, command, workdir, env=None):
        self.label = label
        self.stderr_path = Path(workdir) / f"{label}.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL,
                                        text=True, env=env)
        deadline = time.monotonic() + 60
        line = ""
        # The children print their line before anything else on stdout; a thread is not needed.
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line or line.startswith("listening on"):
                break
        if not line.startswith("listening on"):
            self.stop()
            raise RuntimeError(f"{label}: no 'listening on' line (see {self.stderr_path})")
        self.port = int(line.strip().rsplit(":", 1)[1])
        # Drain the rest of stdout: a full pipe would block the child.
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def error_lines(self):
        text = self.stderr_path.read_text(errors="replace")
        return [line for line in text.splitlines() if any(w in line for w in ("Error", "ERROR", "Traceback"))]


# ---------------------------------------------------------------------------------------------
# Requests

class Target:
    def __init__(self, name, port, signed, standin_port):
        self.name = name
        self.port = port
        self.signed = signed
        self.standin_port = standin_port
        self.dendrites = {}

    def request(self, stream_id, slot):
        """The raw bytes of one request. Signed ones are exactly what bittensor 10.5.0's dendrite
        sends (its own preprocess_synapse_for_request: nonce, uuid, sr25519 signature; the
        synapse's to_headers() and model_dump() body), one dendrite (uuid) per client slot."""
        question = f"{STREAM_TAG}{stream_id}: what is 17 + 25?"
        if not self.signed:
            body = json.dumps({"model": "standin", "stream": True,
                               "messages": [{"role": "user", "content": question}]}).encode()
            head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                    f"Content-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n")
            return head.encode() + body
        import bittensor as bt
        from synapse import StreameinsteinSynapse
        if slot not in self.dendrites:
            self.dendrites[slot] = bt.Dendrite(wallet=VALIDATOR)
        axon = bt.AxonInfo(version=0, ip="127.0.0.1", port=self.port, ip_type=4, hotkey=MINER_HOTKEY,
                           coldkey=MINER_HOTKEY)
        synapse = StreameinsteinSynapse(
            roles=["user"], messages=[urlencode({"question_text": question, "question_type": "arithmetic"})])
        synapse = self.dendrites[slot].preprocess_synapse_for_request(axon, synapse, REQUEST_TIMEOUT)
        body = json.dumps(synapse.model_dump()).encode()
        head = ["POST /StreameinsteinSynapse HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                "Content-Type: application/json", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in synapse.to_headers().items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


MINER_HOTKEY = None
VALIDATOR = None
REQUEST_TIMEOUT = 17.0  # the einstein validator's


def prepare_cell(target, concurrency, seconds, max_streams, id_base, interval):
    """Every slot's requests, made (and signed) before the cell starts: signing and building a
    synapse cost the client ~1 ms each, which would otherwise delay the reads (and so the time
    stamps) of the other streams. As many as the cell can use: its seconds over the shortest
    answer (40 tokens), plus two; nonces stay well inside the axon's window (4 s + timeout)."""
    count = min(max_streams, int(seconds / (40 * interval)) + 2)
    plan = []
    for index in range(concurrency):
        streams = []
        for n in range(count):
            stream_id = id_base + index * 10_000 + n
            streams.append((stream_id, answer_tokens(stream_id), target.request(stream_id, index)))
        plan.append(streams)
    return plan


async def run_cell(target, plan, seconds):
    """One slot per entry of `plan`, streams back to back until `seconds` have passed (or the
    slot's requests are used up); returns per-stream records and failures."""
    loop = asyncio.get_running_loop()
    stop_at = time.monotonic() + seconds
    records = []
    failures = []

    async def slot(streams):
        connection = None
        for stream_id, tokens, request in streams:
            if time.monotonic() >= stop_at:
                break
            clock = EventClock(tokens) if target.name == "direct" else TokenClock(tokens)
            try:
                if connection is None or connection.lost or connection.transport.is_closing():
                    _, connection = await loop.create_connection(ClientConnection, "127.0.0.1", target.port)
                status, error_body = await asyncio.wait_for(connection.send(request, clock.on_body),
                                                            REQUEST_TIMEOUT + 5)
            except (OSError, ResponseError, asyncio.TimeoutError) as error:
                failures.append(f"{type(error).__name__}: {error}")
                connection = None
                await asyncio.sleep(0.05)
                continue
            if status != 200:
                failures.append(f"status {status}: {error_body[:200]!r}")
                await asyncio.sleep(0.05)
                continue
            complete = len(clock.arrival) == len(tokens)
            if complete and isinstance(clock, TokenClock):
                complete = b"".join(clock.body).decode() == "".join(tokens)
            records.append({"id": stream_id, "arrival": clock.arrival, "tokens": len(tokens), "complete": complete})
        if connection is not None and connection.transport is not None:
            connection.transport.close()

    await asyncio.gather(*(slot(streams) for streams in plan))
    return records, failures


def fetch_stamps(standin_port):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{standin_port}/stamps", timeout=30) as response:
        return json.loads(response.read())


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def measure(target, miner_pid, standin_pid, concurrency, args, id_base):
    plan = prepare_cell(target, concurrency, args.seconds, args.max_streams, id_base, 1.0 / args.tokens_per_second)
    fetch_stamps(target.standin_port)  # clear the table (warm-up streams)
    recorder = None
    if args.perf and miner_pid and target.name.startswith("swift"):
        Path(args.perf).mkdir(parents=True, exist_ok=True)
        recorder = subprocess.Popen(["perf", "record", "-F", "2999", "-g", "-p",
                                     str(miner_pid), "-o", str(Path(args.perf) / f"{target.name}-c{concurrency}-{id_base}.data")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # perf attaches
    windows = {"miner": CPUWindow(miner_pid) if miner_pid else None, "standin": CPUWindow(standin_pid),
               "client": CPUWindow(os.getpid())}
    busy_before, total_before = machine_jiffies()
    # No collection pause in the client during a cell (bittensor's heap is large: a full
    # collection takes tens of ms and would show as every stream's latency at that moment).
    gc.collect()
    gc.disable()
    try:
        records, failures = asyncio.run(run_cell(target, plan, args.seconds))
    finally:
        gc.enable()
    usage = {name: w.stop() for name, w in windows.items() if w is not None}
    busy_after, total_after = machine_jiffies()
    if recorder is not None:
        recorder.send_signal(2)
        recorder.wait(timeout=120)
    # Of all the machine's cores, the share that was busy (anything: these three processes, and
    # whatever else runs on the machine).
    machine_busy = (busy_after - busy_before) / max(1, total_after - total_before) * (os.cpu_count() or 1)
    stamps = fetch_stamps(target.standin_port)
    latencies = []
    tokens = 0
    for record in records:
        emitted = stamps.get(str(record["id"]), [])
        for k, arrived in enumerate(record["arrival"]):
            if k < len(emitted):
                latencies.append((arrived - emitted[k]) / 1e6)  # ms
        tokens += len(record["arrival"])
    result = {
        "target": target.name, "concurrency": concurrency, "streams": len(records),
        "complete": sum(r["complete"] for r in records), "failures": failures, "tokens": tokens,
        "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies, default=None),
        "usage": usage, "machine_busy": machine_busy, "latencies": latencies,
    }
    miner = usage.get("miner")
    if miner and tokens:
        result["cpu_us_per_token"] = miner["cpu_s"] / tokens * 1e6
        result["sched_us_per_token"] = miner["sched_s"] / tokens * 1e6
    return result


# ---------------------------------------------------------------------------------------------
# Miners

def start_standin(workdir, interval):
    return Process("standin", [sys.executable, __file__, "--serve-standin", "--interval", str(interval)], workdir)


def start_swift(binary, workdir, standin_port, label="swift"):
    metagraph = Path(workdir) / "metagraph.json"
    metagraph.write_text(json.dumps({"netuid": 35, "block": 4100000, "neurons": [
        {"hotkey": VALIDATOR.ss58_address, "uid": 0, "stake": 152340.5, "validator_permit": True},
        {"hotkey": MINER_HOTKEY, "uid": 1, "stake": 10.0, "validator_permit": False}]}))
    config = Path(workdir) / f"{label}.yaml"
    config.write_text(
        f"miners:\n  - name: bench\n    hotkey: {MINER_HOTKEY}\n    port: 1\n    streaming_batch_size: 1\n"
        f"    max_concurrent_streams: 64\n    max_queued_requests: 256\n"
        f"    blacklist: {{metagraph: '{metagraph}', require_validator_permit: true, min_stake: 1000}}\n"
        f"    backend: {{kind: openai, base_url: 'http://127.0.0.1:{standin_port}/v1', model: standin}}\n")
    return Process(label, [binary, "worker", "--config", str(config), "--miner", "bench", "--port", "0",
                           "--db", str(Path(workdir) / f"{label}.sqlite"), "--log-level", "warning"], workdir)


def start_python(workdir, standin_port):
    return Process("python", [sys.executable, str(ROOT / "bench" / "python_reference_miner.py"), "--port", "0",
                              "--batch-size", "1", "--hotkey-uri", "//Alice",
                              "--openai-base-url", f"http://127.0.0.1:{standin_port}/v1"], workdir)


def progress(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build/release/miners"),
                        help="the miners binary (release); or several as LABEL=PATH,LABEL=PATH to compare builds "
                             "under the same conditions: each is a path of its own (swift-LABEL), measured in turn "
                             "within every round")
    parser.add_argument("--targets", default="direct,swift,python", help="comma-separated: direct, swift, python")
    parser.add_argument("--concurrency", default="1,16,64", help="concurrent streams, comma-separated")
    parser.add_argument("--seconds", type=float, default=6.0, help="load per cell (streams started before it end)")
    parser.add_argument("--max-streams", type=int, default=50, help="at most this many streams per slot and cell")
    parser.add_argument("--tokens-per-second", type=float, default=50.0, help="the stand-in model's pace per stream")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each target's cells")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure everything this many times, each round with fresh miner processes (the order "
                             "of the miners alternates); the table pools the rounds' latencies and gives CPU per token "
                             "over all of them, with the rounds' range")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    parser.add_argument("--perf", metavar="DIR", help="record each Swift cell with `perf record -F 1999 -g "
                        "--call-graph dwarf` into DIR/swift-cC.data (the figures then include perf's own cost)")
    parser.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                        help="run the stand-in, the miners and this client at this nice level (default -10 as root, "
                             "else 0): other work on the machine then disturbs the figures less")
    parser.add_argument("--workdir", help="keep configs, databases and the children's stderr here (default: a temp dir)")
    parser.add_argument("--serve-standin", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=0.02, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_standin:
        serve_standin(args.interval)
        return

    global MINER_HOTKEY, VALIDATOR
    import warnings
    warnings.filterwarnings("ignore", message='Field name "required_hash_fields"')
    sys.path.insert(0, str(ROOT / "Tests" / "interop"))
    import bittensor as bt  # noqa: E402
    import interop_support  # noqa: E402,F401 (keeps the dendrite's helpers on loopback)
    MINER_HOTKEY = bt.Keypair.create_from_uri("//Alice").ss58_address
    VALIDATOR = interop_support.VALIDATOR

    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by the children started below
    binaries = {}
    for entry in args.bin.split(","):
        label, _, path = entry.rpartition("=")
        binaries[label] = path
    args.binaries = {("swift" if len(binaries) == 1 else f"swift-{label or index}"): path
                     for index, (label, path) in enumerate(binaries.items())}
    targets = []
    for name in (t.strip() for t in args.targets.split(",") if t.strip()):
        targets += list(args.binaries) if name == "swift" else [name]
    levels = [int(c) for c in args.concurrency.split(",")]
    results = []
    notes = []
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(args.workdir) if args.workdir else tempfile.TemporaryDirectory(prefix="token-to-wire-")) as workdir:
        standin = start_standin(workdir, 1.0 / args.tokens_per_second)
        progress(f"stand-in backend: pid {standin.pid}, port {standin.port}, {args.tokens_per_second:g} tokens/s per stream")
        try:
            for round_index in range(args.rounds):
                order = targets if round_index % 2 == 0 else [t for t in reversed(targets)]
                for name in order:
                    run_target(name, args, workdir, standin, levels, results, notes, round_index)
        finally:
            standin.stop()

    header, rows = table(results, levels, targets)
    print()
    print("\n".join(text_table(header, rows)))
    for line in goals(results, levels, targets):
        notes.append(line)
    gaps = [abs(r["sched_us_per_token"] / r["cpu_us_per_token"] - 1) for r in results
            if r.get("cpu_us_per_token") and r.get("sched_us_per_token")]
    if gaps:
        notes.append(f"CPU per token from /proc/PID/stat (10 ms ticks); the schedstat sum (ns) agrees within "
                     f"{max(gaps) * 100:.0f} % in every cell")
    notes.append(f"nice {args.nice} for the client, the stand-in and the miners; {os.cpu_count()} CPUs; "
                 f"{args.tokens_per_second:g} tokens/s per stream; {args.seconds:g} s per cell; {args.rounds} round(s)")
    for note in notes:
        print(note)
    if args.markdown:
        md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        md += ["| " + " | ".join(r) + " |" for r in rows]
        Path(args.markdown).write_text("\n".join(md) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
        progress(f"wrote {args.markdown}")


def run_target(name, args, workdir, standin, levels, results, notes, round_index):
    """One round of one path: its miner started, warmed up, each concurrency measured, stopped."""
    miner = None
    if name.startswith("swift"):
        miner = start_swift(args.binaries[name], workdir, standin.port, name)
    elif name == "python":
        miner = start_python(workdir, standin.port)
    try:
        port = miner.port if miner else standin.port
        target = Target(name, port, signed=miner is not None, standin_port=standin.port)
        progress(f"round {round_index + 1}, {name}: {'pid %d, ' % miner.pid if miner else ''}port {port}; warm-up")
        warmup = prepare_cell(target, max(levels), args.warmup, 10, 9_000_000, 1.0 / args.tokens_per_second)
        asyncio.run(run_cell(target, warmup, args.warmup))  # also opens the pools
        if miner and round_index == 0:
            idle = CPUWindow(miner.pid)
            time.sleep(1.0)
            idle_usage = idle.stop()
            notes.append(f"{name}: idle CPU {idle_usage['sched_s'] / idle_usage['wall_s'] * 100:.1f} % "
                         f"of a core (schedstat, 1 s after warm-up)")
        for index, concurrency in enumerate(levels):
            r = measure(target, miner.pid if miner else None, standin.pid, concurrency, args,
                        (round_index * 10 + index + 1) * 1_000_000)
            results.append(r)
            share = ", ".join(f"{k} {v['cpu_s'] / v['wall_s'] * 100:.0f} %" for k, v in r["usage"].items())
            progress(f"{name} c={concurrency}: {r['streams']} streams ({r['complete']} complete), "
                     f"{r['tokens']} tokens, p50 {fmt(r['p50'])} ms, p99 {fmt(r['p99'])} ms, "
                     f"max {fmt(r['max'])} ms, CPU/token {fmt(r.get('cpu_us_per_token'), 0)} µs "
                     f"(sched {fmt(r.get('sched_us_per_token'), 0)} µs); cores: {share}, machine "
                     f"{r['machine_busy'] * 100:.0f} % of a core")
            if r["failures"]:
                progress(f"  {len(r['failures'])} failures, e.g. {r['failures'][0]}")
    finally:
        if miner:
            miner.stop()
            errors = miner.error_lines()
            if errors:
                notes.append(f"{name}: {len(errors)} error lines on stderr, e.g. {errors[0][:200]}")


def pooled(results, name, concurrency):
    """The rounds of one cell taken together: latencies pooled, CPU over all tokens, and the
    range of the rounds' CPU per token."""
    cells = [r for r in results if r["target"] == name and r["concurrency"] == concurrency]
    if not cells:
        return None
    latencies = [x for r in cells for x in r["latencies"]]
    tokens = sum(r["tokens"] for r in cells)
    out = {"streams": sum(r["streams"] for r in cells), "complete": sum(r["complete"] for r in cells),
           "tokens": tokens, "failures": sum(len(r["failures"]) for r in cells),
           "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies, default=None),
           "rounds": len(cells), "machine_busy": sum(r["machine_busy"] for r in cells) / len(cells)}
    for part in ("miner", "client", "standin"):
        used = [r["usage"][part] for r in cells if part in r["usage"]]
        if used:
            out[part] = sum(u["cpu_s"] for u in used) / sum(u["wall_s"] for u in used)
    miner_cpu = [r["usage"]["miner"]["cpu_s"] for r in cells if "miner" in r["usage"]]
    if miner_cpu and tokens:
        out["cpu_us_per_token"] = sum(miner_cpu) / tokens * 1e6
        out["cpu_range"] = (min(r["cpu_us_per_token"] for r in cells), max(r["cpu_us_per_token"] for r in cells))
        out["sched_us_per_token"] = sum(r["usage"]["miner"]["sched_s"] for r in cells) / tokens * 1e6
    return out


def table(results, levels, targets):
    header = ["conc", "path", "streams (complete)", "tokens", "p50 ms", "p99 ms", "max ms", "added p50 ms",
              "added p99 ms", "added max ms", "CPU µs/token", "cores: miner / client / stand-in / machine"]
    rows = []
    for concurrency in levels:
        base = pooled(results, "direct", concurrency)
        for name in targets:
            r = pooled(results, name, concurrency)
            if r is None:
                continue

            def added(key):
                if name == "direct" or base is None or r[key] is None or base[key] is None:
                    return "-"
                return f"{r[key] - base[key]:+.2f}"

            cpu = fmt(r.get("cpu_us_per_token"), 0)
            if r.get("cpu_range") and r["rounds"] > 1:
                cpu += f" ({r['cpu_range'][0]:.0f}–{r['cpu_range'][1]:.0f})"
            share = lambda k: f"{r[k] * 100:.0f}%" if k in r else "-"  # noqa: E731
            rows.append([str(concurrency), name, f"{r['streams']} ({r['complete']})", str(r["tokens"]),
                         fmt(r["p50"]), fmt(r["p99"]), fmt(r["max"]), added("p50"), added("p99"), added("max"),
                         cpu, f"{share('miner')} / {share('client')} / {share('standin')} / "
                              f"{r['machine_busy'] * 100:.0f}%"])
    return header, rows


def goals(results, levels, targets):
    """The issue's goals for each Swift path: under 1 ms added at p99, under 50 µs CPU per token."""
    lines = []
    for name in targets:
        if not name.startswith("swift"):
            continue
        for concurrency in levels:
            r, base = pooled(results, name, concurrency), pooled(results, "direct", concurrency)
            if r is None:
                continue
            if base and r["p99"] is not None and base["p99"] is not None:
                added = r["p99"] - base["p99"]
                lines.append(f"{'PASS' if added < 1.0 else 'FAIL'} {name} c={concurrency}: adds {added:+.2f} ms at "
                             f"p99 (goal: under 1 ms)")
            if r.get("cpu_us_per_token") is not None:
                cpu = r["cpu_us_per_token"]
                lines.append(f"{'PASS' if cpu < 50 else 'FAIL'} {name} c={concurrency}: {cpu:.0f} µs CPU per token "
                             f"(goal: under 50 µs)")
    return lines


def text_table(header, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    return ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in [header, *rows]]


if __name__ == "__main__":
    main()
