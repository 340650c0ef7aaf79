"""Workers with OpenAI-compatible and TGI backends, driven by the real bittensor dendrite."""
import asyncio
import subprocess
import time

import pytest

from fake_llm_servers import FakeLLMServer
from interop_support import HOTKEYS, MINERS_BIN, ask, free_port, query, question, wait_until


@pytest.fixture
def llm():
    server = FakeLLMServer()
    yield server
    server.stop()


def start(tmp, backend):
    (tmp / "config.yaml").write_text(
        f"database: {tmp}/log.sqlite\nminers:\n  - {{name: m, hotkey: {HOTKEYS[0]}, port: {free_port()}, "
        f"streaming_batch_size: 3, timeout: 30, backend: {backend}}}\n")
    proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", "m", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=open(tmp / "worker.log", "w"), text=True)
    return proc, int(proc.stdout.readline().rsplit(":", 1)[1])


def row(tmp):
    found = wait_until(lambda: query(tmp / "log.sqlite", "select * from requests"), timeout=5)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("kind", ["openai", "tgi"])
def test_the_dendrite_streams_a_backends_answer(tmp_path, llm, kind):
    base = f"http://127.0.0.1:{llm.port}" + ("/v1" if kind == "openai" else "")
    model = ", model: smollm2" if kind == "openai" else ""
    llm.delay = 0.01
    proc, port = start(tmp_path, f"{{kind: {kind}, base_url: '{base}'{model}}}")
    try:
        final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert final.dendrite.status_code == 200
    assert final.completion == "The answer is 4. So the final answer is: 4"
    assert len(final.chunks) == 4  # 11 items in batches of 3
    sent = llm.requests[-1]
    if kind == "openai":
        assert sent["messages"][-1] == {"role": "user", "content": "What is 2+2?"}
    else:
        assert sent["inputs"].endswith("user: What is 2+2?\nassistant: ")
    r = row(tmp_path)
    assert (r["outcome"], r["backend"], r["batches"], r["final_answer_sent"]) == ("complete", kind, 4, 1)
    assert r["backend_first_item_s"] is not None and r["backend_items_per_s"] > 0
    assert r["completion_tokens"] == (11 if kind == "openai" else 12)
    assert r["prompt_tokens"] == (42 if kind == "openai" else None)


def test_a_failing_backend_is_a_logged_outcome(tmp_path, llm):
    llm.fail_status = 503
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: m}}")
    try:
        final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
        assert proc.poll() is None, "a backend fault must not take the worker down"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert final.dendrite.status_code == 200 and final.completion == ""
    r = row(tmp_path)
    assert r["outcome"] == "stream_error"
    assert "answered 503: model overloaded" in r["reason"]


def test_a_validator_timeout_closes_the_backend_request(tmp_path, llm):
    llm.tokens = [f" t{i}" for i in range(400)]
    llm.delay = 0.02
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: m}}")
    try:
        started = time.monotonic()
        final = asyncio.run(ask(port, HOTKEYS[0], question("long"), timeout=1.0))
        timed_out = started + 1.0
        assert final.dendrite.status_code == 408 and final.completion
        assert wait_until(lambda: llm.disconnected_at, timeout=3), "the backend request was never closed"
        assert llm.disconnected_at - timed_out < 0.5
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert row(tmp_path)["outcome"] == "client_disconnect"
