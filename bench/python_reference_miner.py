"""A Python reference miner for benchmarks: the subnet guide's streaming template on a real axon.

    .venv/bin/python bench/python_reference_miner.py [--port 0] [--text "..."] [--delay-ms 0]
                                                     [--batch-size 4] [--hotkey-uri //Alice]
                                                     [--openai-base-url http://127.0.0.1:8000/v1]

What runs here is what a SN35 miner built from the guide (`creating-stream-miners.md`) runs:
a `bittensor.Axon` (bittensor 10.5.0: FastAPI + uvicorn, the axon middleware, its default
verify — nonce and sr25519 signature of every request) serving `StreameinsteinSynapse`, and a
synchronous `forward` that returns `synapse.create_streaming_response(token_streamer)`, where
the token streamer is the guide's `_forward`: buffer items, send `batch_size` items per chunk
with `more_body=True`, stop without sending the rest once `synapse.timeout` has passed since
handling started, otherwise send the remainder with `more_body=False`.

The backend is a mock that behaves like the Swift worker's `MockBackend`: the fixed text as word
items (each word with the whitespace after it, leading whitespace on the first), waiting
`delay_ms` (an async sleep; none at 0) before each item. No blacklist or priority function is
attached (they need a metagraph); nothing talks to a chain or leaves loopback.

With `--openai-base-url` the mock is replaced by an HTTP streaming backend, as a guide miner in
front of vLLM or an OpenAI-compatible server has it: one shared aiohttp client session, `POST
{base}/chat/completions` with `stream: true`, the SSE body read line by line, each `data:` event
decoded with `json.loads` and each non-empty `choices[].delta.content` yielded as a token
(`bench/token_to_wire.py` uses this).

Prints `listening on 127.0.0.1:PORT` once the axon accepts connections; stops on SIGTERM/SIGINT.
"""
import argparse
import asyncio
import json
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs

# Tests/interop/synapse.py redeclares a base field on purpose (as the subnet does); pydantic warns.
warnings.filterwarnings("ignore", message='Field name "required_hash_fields"')
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
import bittensor as bt  # noqa: E402
import bittensor.utils.networking as networking  # noqa: E402
from starlette.types import Send  # noqa: E402
from synapse import StreameinsteinSynapse  # noqa: E402

# The axon (and dendrite) would ask public web services for the external IP; stay on loopback.
networking.get_external_ip = lambda: "127.0.0.1"

DEFAULT_TEXT = " ".join(f"word{i}" for i in range(40))


def words(text):
    """Word items keeping their trailing whitespace, as the Swift MockBackend splits them:
    joining the items gives the text back exactly."""
    items = re.findall(r"\s*\S+\s*", text)  # only the first match can start with whitespace
    return items or ([text] if text else [])


async def mock_stream(items, delay_s):
    for item in items:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        yield item


class OpenAIStreamer:
    """Tokens from an OpenAI-compatible streaming server (aiohttp SSE client). The session is
    created on first use, inside the axon's event loop, and shared by every request."""

    def __init__(self, base_url, model="standin"):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.session = None

    async def stream(self, synapse):
        import aiohttp  # a dependency of bittensor
        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        messages = []
        for role, message in zip(synapse.roles, synapse.messages):
            # Validators form-encode the question; decode it as the Swift worker does.
            question = parse_qs(message).get("question_text", [message])[0]
            messages.append({"role": role, "content": question})
        body = {"model": self.model, "stream": True, "messages": messages}
        async with self.session.post(self.url, json=body) as response:
            response.raise_for_status()
            async for line in response.content:
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    break
                event = json.loads(data)
                for choice in event.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield content


class ReferenceMiner:
    def __init__(self, text, delay_ms, batch_size, openai_base_url=None):
        self.items = words(text)
        self.delay_s = delay_ms / 1000
        self.streaming_batch_size = batch_size
        self.openai = OpenAIStreamer(openai_base_url) if openai_base_url else None

    def forward(self, synapse: StreameinsteinSynapse) -> StreameinsteinSynapse.BTStreamingResponse:
        # The guide's shape: a synchronous forward with an inner async _forward bound by partial.
        init_time = time.time()
        timeout_threshold = synapse.timeout

        async def _forward(self, streamer, init_time, timeout_threshold, send: Send):
            buffer = []
            timeout_reached = False
            try:
                async for token in streamer:
                    buffer.append(token)

                    if time.time() - init_time > timeout_threshold:
                        bt.logging.debug("Timeout reached, stopping streaming")
                        timeout_reached = True
                        break

                    if len(buffer) == self.streaming_batch_size:
                        joined_buffer = "".join(buffer)
                        bt.logging.debug(f"Streamed tokens: {joined_buffer}")
                        await send({"type": "http.response.body", "body": joined_buffer.encode("utf-8"),
                                    "more_body": True})
                        buffer = []

                if buffer and not timeout_reached:  # the remainder is not sent after a timeout
                    joined_buffer = "".join(buffer)
                    bt.logging.debug(f"Streamed tokens: {joined_buffer}")
                    await send({"type": "http.response.body", "body": joined_buffer.encode("utf-8"),
                                "more_body": False})
            except Exception as e:  # the guide logs and carries on (stop_on_forward_exception is off)
                bt.logging.error(f"Error in forward: {e}")

        streamer = self.openai.stream(synapse) if self.openai else mock_stream(self.items, self.delay_s)
        token_streamer = partial(_forward, self, streamer, init_time, timeout_threshold)
        return synapse.create_streaming_response(token_streamer)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--hotkey-uri", default="//Alice", help="the miner's hotkey (a dev URI)")
    parser.add_argument("--openai-base-url", help="stream tokens from this OpenAI-compatible server instead of the mock")
    args = parser.parse_args()

    # The axon signs every response with its wallet's hotkey, so it needs the secret key: a
    # throw-away wallet in a temp dir holding the dev keypair (never the user's ~/.bittensor).
    keypair = bt.Keypair.create_from_uri(args.hotkey_uri)
    wallet_dir = tempfile.TemporaryDirectory(prefix="refminer-wallet-")
    wallet = bt.Wallet(name="reference", hotkey="reference", path=wallet_dir.name)
    wallet.set_hotkey(keypair, encrypt=False, overwrite=True)
    wallet.set_coldkeypub(keypair, overwrite=True)

    # bt.Axon treats port 0 as "use the default 8091", so pick a free port ourselves.
    port = args.port or free_port()
    axon = bt.Axon(wallet=wallet, port=port, ip="127.0.0.1", external_ip="127.0.0.1", external_port=port)
    axon.fast_config.host = "127.0.0.1"  # uvicorn would bind 0.0.0.0; loopback is enough here
    miner = ReferenceMiner(args.text, args.delay_ms, args.batch_size, args.openai_base_url)
    axon.attach(forward_fn=miner.forward)  # verify_fn=None: the axon's default verify
    axon.start()
    if not wait_listening(port):
        print(f"axon did not start on 127.0.0.1:{port}", file=sys.stderr)
        sys.exit(1)
    print(f"listening on 127.0.0.1:{port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    axon.stop()
    wallet_dir.cleanup()


if __name__ == "__main__":
    main()
