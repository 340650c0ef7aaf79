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


def start(tmp, backend, extra=""):
    (tmp / "config.yaml").write_text(
        f"database: {tmp}/log.sqlite\nminers:\n  - {{name: m, hotkey: {HOTKEYS[0]}, port: {free_port()}, "
        f"streaming_batch_size: 3, timeout: 30, {extra}backend: {backend}}}\n")
    proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", "m", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=open(tmp / "worker.log", "w"), text=True)
    return proc, int(proc.stdout.readline().rsplit(":", 1)[1])


def row(tmp):
    found = wait_until(lambda: query(tmp / "log.sqlite", "select * from requests"), timeout=5)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("kind", ["openai", "tgi", "tgi-generate"])
def test_the_dendrite_streams_a_backends_answer(tmp_path, llm, kind):
    base = f"http://127.0.0.1:{llm.port}" + ("/v1" if kind == "openai" else "")
    fields = {"openai": ", model: smollm2", "tgi": "", "tgi-generate": ", api: generate"}[kind]
    llm.delay = 0.01
    proc, port = start(tmp_path, f"{{kind: {kind.split('-')[0]}, base_url: '{base}'{fields}}}")
    try:
        final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert final.dendrite.status_code == 200
    assert final.completion == "The answer is 4. So the final answer is: 4"
    assert len(final.chunks) == 4  # 11 items in batches of 3
    sent = llm.requests[-1]
    if kind == "tgi-generate":
        assert sent["inputs"].endswith("user: What is 2+2?\nassistant: ")
    else:  # TGI's Messages API by default: the server's own chat template
        assert sent["messages"][-1] == {"role": "user", "content": "What is 2+2?"}
    r = row(tmp_path)
    assert (r["outcome"], r["backend"], r["batches"], r["final_answer_sent"]) == ("complete", kind.split("-")[0], 4, 1)
    assert r["backend_first_item_s"] is not None and r["backend_items_per_s"] > 0
    assert r["completion_tokens"] == (12 if kind == "tgi-generate" else 11)
    assert r["prompt_tokens"] == (None if kind == "tgi-generate" else 42)


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


def test_a_worker_holds_as_many_backend_streams_as_it_admits(tmp_path, llm):
    """64 validators at once: the fake server holds every stream until 64 are open, so a pool
    smaller than the miner's `max_concurrent_streams` would leave some waiting for a
    connection until the validators give up."""
    llm.barrier = 64
    llm.barrier_timeout = 25
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: m}}",
                       extra="max_concurrent_streams: 64, max_connections_per_ip: 256, ")

    async def all_at_once():
        return await asyncio.gather(*(ask(port, HOTKEYS[0], question(f"q{i}"), timeout=30) for i in range(64)))

    try:
        finals = asyncio.run(all_at_once())
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert llm.peak_streams == 64
    assert [f.dendrite.status_code for f in finals] == [200] * 64
    assert all(f.completion == "The answer is 4. So the final answer is: 4" for f in finals)
    rows = wait_until(lambda: (lambda r: r if len(r) == 64 else None)(
        query(tmp_path / "log.sqlite", "select outcome from requests")), timeout=10)
    assert [r["outcome"] for r in rows] == ["complete"] * 64


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
@pytest.mark.parametrize("mode", ["drop", "stream"])
def test_a_reasoning_models_thinking(tmp_path, llm, field, mode):
    """vLLM's reasoning deltas under either name: `drop` sends only the answer and logs the
    thinking's size and time; `stream` sends it too."""
    llm.thinking = ["Let", " me", " add", " 2", " and", " 2."]
    llm.reasoning_field = field
    llm.delay = 0.01
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: qwen3, reasoning: {mode}, "
                                 f"extra_body: {{top_k: 20, chat_template_kwargs: {{enable_thinking: true}}}}}}")
    try:
        final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    answer = "The answer is 4. So the final answer is: 4"
    assert final.completion == (answer if mode == "drop" else "Let me add 2 and 2." + answer)
    sent = llm.requests[-1]
    assert sent["top_k"] == 20 and sent["chat_template_kwargs"] == {"enable_thinking": True}
    r = row(tmp_path)
    assert r["outcome"] == "complete" and r["reasoning_items"] == 6 and r["reasoning_s"] >= 0.03
    assert r["items_sent"] == (11 if mode == "drop" else 17)


def test_reasoning_disable_asks_the_server_not_to_think(tmp_path, llm):
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: qwen3, reasoning: disable}}")
    try:
        asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert llm.requests[-1]["chat_template_kwargs"] == {"enable_thinking": False}
    assert llm.requests[-1]["max_tokens"] == 1024


def test_ollama_warm_up_and_keep_alive_load_the_model_before_a_validator_asks(tmp_path, llm):
    """Ollama unloads an idle model; the next request waits for a cold load (here 8 s). With
    `warmup` and `keep_alive` the worker loads it before it reports ready."""
    llm.loaded = False
    llm.load_seconds = 8.0
    started = time.monotonic()
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: qwen3, "
                                 f"warmup: true, keep_alive: -1}}")
    ready = time.monotonic() - started
    try:
        asked = time.monotonic()
        final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
        answered = time.monotonic() - asked
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert ready >= 7.5, f"the worker reported ready after {ready:.1f} s, before the model had loaded"
    assert final.completion == "The answer is 4. So the final answer is: 4"
    assert answered < 5.0, f"the first validator waited {answered:.1f} s (a cold load takes 8)"
    assert llm.keep_alive_calls and llm.keep_alive_calls[0][1] == {"model": "qwen3", "keep_alive": -1}
    warm = [r for r in llm.requests if r.get("max_tokens") == 1]
    assert len(warm) == 1 and warm[0]["messages"][-1]["content"] == "Say OK."


def test_a_failed_warm_up_is_logged_and_the_worker_serves(tmp_path, llm):
    llm.fail_status = 503
    proc, port = start(tmp_path, f"{{kind: openai, base_url: 'http://127.0.0.1:{llm.port}/v1', model: m, warmup: true}}")
    try:
        llm.fail_status = None
        final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=10))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert final.completion == "The answer is 4. So the final answer is: 4"
    assert "backend warm-up failed" in (tmp_path / "worker.log").read_text()
