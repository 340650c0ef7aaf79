"""Helpers shared by the interop tests: the binary, the real dendrite, a raw client, the log."""
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import bittensor as bt
import bittensor.utils.networking as networking

from synapse import StreameinsteinSynapse

MINERS_BIN = os.environ.get("MINERS_BIN", str(Path(__file__).resolve().parents[2] / ".build/debug/miners"))
HOTKEYS = [bt.Keypair.create_from_uri(f"//Miner{i}").ss58_address for i in range(20)]
VALIDATOR = bt.Keypair.create_from_uri("//Dave")
# The dendrite would ask public web services for its IP; keep every byte on loopback.
networking.get_external_ip = lambda: "127.0.0.1"


def question(text):
    return urlencode({"question_text": text, "question_type": "arithmetic"})


# Ports handed out by free_port: below the kernel's ephemeral range (32768 and up on Linux),
# so no outgoing connection takes one between the test's choice and the miner's bind, and
# never the same one twice in a run (two bind(0) calls in a row may return the same port:
# about once in 4,000 choices of three, which made a config with a duplicate port).
_PORT_RANGE = range(20000, 32768)
_next_port = _PORT_RANGE.start + (os.getpid() * 7919) % len(_PORT_RANGE)


def free_port():
    global _next_port
    for _ in range(len(_PORT_RANGE)):
        port = _next_port
        _next_port = _PORT_RANGE.start + (_next_port + 1 - _PORT_RANGE.start) % len(_PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))  # free on every address, loopback included
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {_PORT_RANGE}")


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its dead parent's successor) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone while /proc was read (FileNotFoundError, ProcessLookupError)
        return False


def axon(port, hotkey):
    return bt.AxonInfo(version=0, ip="127.0.0.1", port=port, ip_type=4, hotkey=hotkey, coldkey=hotkey)


async def ask(port, hotkey, message, timeout):
    """One request through the real bittensor dendrite; returns the final synapse."""
    dendrite = bt.Dendrite(wallet=VALIDATOR)
    synapse = StreameinsteinSynapse(roles=["user"], messages=[message])
    try:
        responses = await dendrite.forward(
            axons=[axon(port, hotkey)], synapse=synapse, timeout=timeout, streaming=True, deserialize=False
        )
        final = None
        async for item in responses[0]:
            if isinstance(item, bt.Synapse):
                final = item
        return final
    finally:
        await dendrite.aclose_session()


def body_hash(messages):
    return hashlib.sha3_256(hashlib.sha3_256(str(messages).encode()).hexdigest().encode()).hexdigest()


def signed_headers(miner_hotkey, messages, timeout=10.0, nonce=None, session="raw-client", signer=None, sign_for=None,
                   body_hash_header=None):
    """Headers as a dendrite signs them; each argument can be bent to forge a bad request."""
    signer = signer or VALIDATOR
    nonce = time.time_ns() if nonce is None else nonce
    computed = body_hash(messages) if body_hash_header is None else body_hash_header
    message = f"{nonce}.{signer.ss58_address}.{sign_for or miner_hotkey}.{session}.{computed}"
    return {
        "name": "StreameinsteinSynapse", "timeout": str(timeout),
        "bt_header_axon_hotkey": miner_hotkey,
        "bt_header_dendrite_hotkey": signer.ss58_address, "bt_header_dendrite_nonce": str(nonce),
        "bt_header_dendrite_uuid": session, "bt_header_dendrite_version": "10005000",
        "bt_header_dendrite_signature": "0x" + signer.sign(message).hex(),
        "computed_body_hash": computed, "Content-Type": "application/json",
    }


def synapse_body(messages, timeout=10.0):
    return json.dumps({"name": "StreameinsteinSynapse", "timeout": timeout, "roles": ["user"], "messages": messages,
                       "dendrite": {"hotkey": VALIDATOR.ss58_address, "uuid": "raw-client"}})


async def raw_stream(session, port, miner_hotkey, message, timeout=10.0):
    """A signed, dendrite-shaped request without the dendrite's overhead (for load): returns
    (status, [chunk texts]). Each request is its own dendrite session (uuid): nonces of one
    session must arrive in order, which concurrent requests do not guarantee."""
    messages = [message]
    headers = signed_headers(miner_hotkey, messages, timeout, session=str(uuid.uuid4()))
    async with session.post(f"http://127.0.0.1:{port}/StreameinsteinSynapse", data=synapse_body(messages, timeout),
                            headers=headers,
                            timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        chunks, buffer = [], b""
        async for data, end in response.content.iter_chunks():
            buffer += data
            if end and buffer:
                chunks.append(buffer.decode())
                buffer = b""
        return response.status, chunks


async def raw_post(port, headers, body, path="StreameinsteinSynapse"):
    """(status, JSON body or text) of one request."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/{path}", data=body, headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text


def query(db_path, sql, args=()):
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, args).fetchall()


def log_tail(path, lines=30):
    """The last lines of a process's log, for an assertion's message: CI keeps no files."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()[-lines:]
    except OSError as error:
        return f"(cannot read {path}: {error})"
    return f"the last lines of {path}:\n" + "\n".join(text)


def wait_until(condition, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def miners_json(*args):
    out = subprocess.run([MINERS_BIN, *args, "--json"], capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None
