"""Interop: drive `miners worker` processes with the real bittensor 10.5.0 dendrite on loopback.

Run by .ci/run as `pytest Tests/interop` with MINERS_BIN pointing at the built binary.
"""
import asyncio
import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from interop_support import HOTKEYS, MINERS_BIN, VALIDATOR, question, raw_post, signed_headers, log_tail
from interop_support import ask as dendrite_ask


TEN_WORDS = "one two three four five six seven eight nine ten"
FORTY_WORDS = " ".join(f"w{i}" for i in range(40))
MULTIBYTE = "ü é 日本語 😀🧮 ∫x² ok"

CONFIG = f"""
database: unused.sqlite
miners:
  - {{name: exact, hotkey: {HOTKEYS[0]}, port: 20001, streaming_batch_size: 4,
      backend: {{kind: mock, text: "{TEN_WORDS}", delay_ms: 20}}}}
  - {{name: answer, hotkey: {HOTKEYS[1]}, port: 20002, backend: {{kind: mock}}}}
  - {{name: worker_timeout, hotkey: {HOTKEYS[2]}, port: 20003, streaming_batch_size: 3, timeout: 1,
      backend: {{kind: mock, text: "{FORTY_WORDS}", delay_ms: 100}}}}
  - {{name: client_timeout, hotkey: {HOTKEYS[3]}, port: 20004, streaming_batch_size: 2, timeout: 30,
      backend: {{kind: mock, text: "{FORTY_WORDS}", delay_ms: 100}}}}
  - {{name: multibyte, hotkey: {HOTKEYS[4]}, port: 20005, streaming_batch_size: 1,
      backend: {{kind: mock, text: "{MULTIBYTE}"}}}}
  - {{name: failing, hotkey: {HOTKEYS[5]}, port: 20006, streaming_batch_size: 2, stop_on_forward_exception: true,
      backend: {{kind: mock, text: "{TEN_WORDS}", fail_after: 5}}}}
"""


MINERS = ["exact", "answer", "worker_timeout", "client_timeout", "multibyte", "failing"]


class Worker:
    def __init__(self, tmp: Path, name: str, hotkey=None):
        self.name = name
        self.hotkey = hotkey or HOTKEYS[MINERS.index(name)]
        self.log = open(tmp / f"{name}.log", "w")
        self.proc = subprocess.Popen(
            [MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", name,
             "--port", "0", "--db", str(tmp / "log.sqlite")],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                return
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"worker {name} did not start; {log_tail(self.log.name)}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interop")
    (tmp / "config.yaml").write_text(CONFIG)
    workers = {}

    def worker(name):
        if name not in workers:
            workers[name] = Worker(tmp, name)
        return workers[name]

    yield tmp, worker
    for w in workers.values():
        w.stop()


async def ask(worker, message, timeout):
    return await dendrite_ask(worker.port, worker.hotkey, message, timeout)


def rows(tmp, sql, args=(), expect=1, wait=5.0):
    """Rows of the worker's log, waiting for the writer's next flush."""
    deadline = time.monotonic() + wait
    while True:
        with sqlite3.connect(tmp / "log.sqlite") as db:
            db.row_factory = sqlite3.Row
            found = db.execute(sql, args).fetchall()
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def request_row(tmp, uuid):
    found = rows(tmp, "select * from requests where uuid = ? and outcome != 'rejected'", (uuid,))
    assert len(found) == 1, f"no log row for request {uuid}"
    return found[0]


def batches(tmp, request_id):
    return rows(tmp, "select * from batches where request_id = ? order by seq", (request_id,), expect=0, wait=0)


def test_complete_answer_in_batches(env):
    tmp, worker = env
    w = worker("exact")
    final = asyncio.run(ask(w, question("count to ten"), timeout=10))
    assert final.dendrite.status_code == 200
    assert final.axon.status_code == 200
    assert final.completion == TEN_WORDS
    words = [word + " " for word in TEN_WORDS.split(" ")]
    words[-1] = words[-1].strip()
    assert final.chunks == ["".join(words[0:4]), "".join(words[4:8]), "".join(words[8:10])]

    row = request_row(tmp, final.dendrite.uuid)
    assert row["outcome"] == "complete"
    assert row["validator_hotkey"] == VALIDATOR.ss58_address
    assert (row["batches"], row["items_sent"], row["items_unsent"]) == (3, 10, 0)
    assert row["bytes_sent"] == len(TEN_WORDS.encode())
    logged = batches(tmp, row["id"])
    assert [b["bytes"] for b in logged] == [len(c.encode()) for c in final.chunks]
    assert [b["items"] for b in logged] == [4, 4, 2]
    assert [b["final"] for b in logged] == [0, 0, 1]
    assert row["first_batch_at"] > row["received_at"]


def test_mock_answers_the_question(env):
    tmp, worker = env
    final = asyncio.run(ask(worker("answer"), question("What is 2+2?"), timeout=10))
    assert final.dendrite.status_code == 200
    assert final.completion == "The answer is 4. So the final answer is: 4"
    assert len(final.chunks) == 1  # ten words, batch size 12: one final batch
    row = request_row(tmp, final.dendrite.uuid)
    assert row["final_answer_sent"] == 1


def test_worker_timeout_sends_whole_batches_and_drops_the_rest(env):
    tmp, worker = env
    final = asyncio.run(ask(worker("worker_timeout"), question("long"), timeout=10))
    # The worker closed the stream itself: the dendrite reports 200 with the partial answer.
    assert final.dendrite.status_code == 200
    assert final.completion, "some batches must arrive before the 1 s worker timeout"
    assert FORTY_WORDS.startswith(final.completion)
    assert all(len(chunk.split()) == 3 for chunk in final.chunks), f"only full batches before a timeout: {final.chunks}"

    row = request_row(tmp, final.dendrite.uuid)
    assert row["outcome"] == "partial_timeout"
    assert row["timeout"] == 1.0
    assert row["batches"] == len(final.chunks)
    assert row["bytes_sent"] == len(final.completion.encode())
    assert row["items_sent"] == 3 * len(final.chunks)
    assert row["items_unsent"] == row["items_generated"] - row["items_sent"]
    timeouts = rows(tmp, "select * from timeouts where request_id = ?", (row["id"],))
    assert len(timeouts) == 1
    assert timeouts[0]["items_dropped"] == row["items_unsent"]
    assert 0.95 <= timeouts[0]["elapsed_s"] < 1.5


def test_client_timeout_gives_408_with_partial_completion(env):
    tmp, worker = env
    final = asyncio.run(ask(worker("client_timeout"), question("long"), timeout=1.0))
    assert final.dendrite.status_code == 408
    assert final.completion and FORTY_WORDS.startswith(final.completion)

    row = request_row(tmp, final.dendrite.uuid)
    assert row["outcome"] == "client_disconnect"
    # The worker noticed within the next item, not after the 30 s it was allowed.
    assert row["finished_at"] - row["received_at"] < 2.0
    logged = batches(tmp, row["id"])
    sent = "".join(FORTY_WORDS.split(" ")[i] + " " for i in range(row["items_sent"]))
    assert sent.startswith(final.completion), "the client got a prefix of what the log says was written"
    assert sum(b["bytes"] for b in logged) == row["bytes_sent"]


def test_multibyte_text_never_splits_a_character(env):
    tmp, worker = env
    final = asyncio.run(ask(worker("multibyte"), question("unicode"), timeout=10))
    assert final.dendrite.status_code == 200
    assert final.completion == MULTIBYTE
    assert len(final.chunks) == len(MULTIBYTE.split(" "))


def test_concurrent_requests_stream_in_parallel(env):
    tmp, worker = env
    w = worker("exact")

    async def many():
        return await asyncio.gather(*(ask(w, question(f"q{i}"), timeout=10) for i in range(8)))

    started = time.monotonic()
    finals = asyncio.run(many())
    elapsed = time.monotonic() - started
    assert all(f.dendrite.status_code == 200 and f.completion == TEN_WORDS for f in finals)
    # One answer takes ~0.2 s (10 items, 20 ms apart); eight in series would take 1.6 s.
    assert elapsed < 1.2, f"8 concurrent requests took {elapsed:.2f}s"


def test_rejections_match_the_python_axon(env):
    tmp, worker = env
    w = worker("answer")
    messages = ["hi"]
    body = json.dumps({"roles": ["user"], "messages": messages})

    status, payload = asyncio.run(raw_post(w.port, {"Content-Type": "application/json"}, body, path="OtherSynapse"))
    assert status == 404
    assert payload == {"message": "Synapse name 'OtherSynapse' not found. Available synapses ['StreameinsteinSynapse']"}

    # Correctly signed over a hash that is not the body's.
    headers = signed_headers(w.hotkey, messages, body_hash_header="00" * 32)
    status, payload = asyncio.run(raw_post(w.port, headers, body))
    assert status == 400 and payload["message"].startswith("Body hash mismatch")

    status, payload = asyncio.run(raw_post(w.port, signed_headers(w.hotkey, messages), "{not json"))
    assert status == 422 and "invalid JSON at byte 1" in payload["message"]

    reasons = [r["reason"] for r in rows(tmp, "select reason from requests where outcome = 'rejected' and worker = 'answer'", expect=3)]
    assert sorted(reasons) == ["body_hash_mismatch", "invalid_json", "unknown_synapse"]


def test_stop_on_forward_exception_exits_after_the_response(env):
    tmp, worker = env
    w = worker("failing")
    final = asyncio.run(ask(w, question("fail"), timeout=10))
    # Two full batches went out before the backend failed at item 5; the fifth item is dropped.
    assert final.dendrite.status_code == 200
    assert final.completion == "one two three four "
    assert w.proc.wait(timeout=10) == 3
    row = request_row(tmp, final.dendrite.uuid)
    assert row["outcome"] == "stream_error"
    assert "fail_after" in row["reason"]
