"""`miners simulate` and `miners matrix` against real workers: the simulator reports what the
real bittensor 10.5.0 dendrite reports for the same worker and config, and a matrix ranks its
cells in the order their configuration implies."""
import asyncio
import json
import subprocess
from urllib.parse import urlencode

import pytest

from interop_support import HOTKEYS, MINERS_BIN, ask, query
from test_dendrite import FORTY_WORDS, TEN_WORDS, Worker

QUESTION = "question_text=q"
CONFIG = f"""
database: unused.sqlite
miners:
  - {{name: whole, hotkey: {HOTKEYS[0]}, port: 1, streaming_batch_size: 4,
      backend: {{kind: mock, text: "{TEN_WORDS}", delay_ms: 20}}}}
  - {{name: miner_cut, hotkey: {HOTKEYS[1]}, port: 2, streaming_batch_size: 3, timeout: 1,
      backend: {{kind: mock, text: "{FORTY_WORDS}", delay_ms: 100}}}}
  - {{name: validator_cut, hotkey: {HOTKEYS[2]}, port: 3, streaming_batch_size: 2, timeout: 30,
      backend: {{kind: mock, text: "{FORTY_WORDS}", delay_ms: 100}}}}
  - {{name: answers, hotkey: {HOTKEYS[3]}, port: 4, streaming_batch_size: 4, backend: {{kind: mock}}}}
"""
MINERS = ["whole", "miner_cut", "validator_cut", "answers"]


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("simulator")
    (tmp / "config.yaml").write_text(CONFIG)
    started = {name: Worker(tmp, name, hotkey=HOTKEYS[index]) for index, name in enumerate(MINERS)}
    yield tmp, started
    for worker in started.values():
        worker.stop()


def simulate(tmp, worker, hotkey, timeout, db_name):
    """One request from the Swift simulator; its stored row (status, completion)."""
    db = tmp / db_name
    out = subprocess.run(
        [MINERS_BIN, "simulate", "--port", str(worker.port), "--hotkey", hotkey, "--requests", "1",
         "--question", "q", "--timeout", str(timeout), "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    rows = query(db, "select status, completion, chunks, final_answer from sim_requests")
    assert len(rows) == 1 and summary["requests"] == 1
    return summary, rows[0]


def both(tmp, workers, name, timeout, hotkey=None):
    worker = workers[name]
    hotkey = hotkey or worker.hotkey
    final = asyncio.run(ask(worker.port, hotkey, QUESTION, timeout))
    summary, row = simulate(tmp, worker, hotkey, timeout, f"sim-{name}-{hotkey[:6]}.sqlite")
    return final, summary, row


def test_a_whole_answer_is_200_and_identical(workers):
    tmp, started = workers
    final, summary, row = both(tmp, started, "whole", 10)
    assert final.dendrite.status_code == 200 and row["status"] == 200
    assert final.completion == row["completion"] == TEN_WORDS
    assert summary["statuses"] == {"200": 1}


def test_a_miner_timeout_is_200_with_the_same_whole_batches(workers):
    tmp, started = workers
    final, summary, row = both(tmp, started, "miner_cut", 10)
    assert final.dendrite.status_code == 200 and row["status"] == 200
    for completion in (final.completion, row["completion"]):
        assert completion and FORTY_WORDS.startswith(completion) and completion != FORTY_WORDS
        assert len(completion.split()) % 3 == 0  # whole batches only: the remainder is dropped
    assert abs(len(final.completion.split()) - len(row["completion"].split())) <= 3
    assert summary["partial"] == 1


def test_a_validator_timeout_is_408_with_what_arrived(workers):
    tmp, started = workers
    final, summary, row = both(tmp, started, "validator_cut", 1.0)
    assert final.dendrite.status_code == 408 and row["status"] == 408
    for completion in (final.completion, row["completion"]):
        assert completion and FORTY_WORDS.startswith(completion) and completion != FORTY_WORDS
    assert abs(len(final.completion.split()) - len(row["completion"].split())) <= 2
    assert summary["statuses"] == {"408": 1}


def test_a_request_signed_for_another_miner_is_refused_alike(workers):
    tmp, started = workers
    final, _, row = both(tmp, started, "whole", 5, hotkey=HOTKEYS[1])
    assert final.dendrite.status_code == row["status"] == 401
    assert row["completion"] == ""


def test_the_einstein_questions_score_1_on_the_mock_and_read_alike_through_the_dendrite(workers):
    """The default questions are the validator's query around basic_math problems (every fifth
    a decimal one); the mock answers them all right, and the real dendrite, sent the validator's
    own urlencode of the same query, gets the same answer."""
    tmp, started = workers
    worker = started["answers"]
    db = tmp / "sim-einstein.sqlite"
    out = subprocess.run(
        [MINERS_BIN, "simulate", "--port", str(worker.port), "--hotkey", worker.hotkey, "--requests", "10",
         "--concurrency", "2", "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mean_reward"] == 1
    rows = query(db, "select reference, completion from sim_requests order by id")
    assert {row["reference"] for row in rows} >= {"52.0", "0.29", "4.0", "2.0"}
    assert any(row["completion"].endswith("So the final answer is: 0.29") for row in rows)
    problem = "$40\\div20=$"
    message = urlencode({"question_text": "How can I solve the following problem, " + problem
                         + "? Make sure to include the whole problem when you ask your question.",
                         "question_markdown": "", "question_type": ""})
    final = asyncio.run(ask(worker.port, worker.hotkey, message, 10))
    assert final.completion == "The answer is 2. So the final answer is: 2"


def test_a_2x2_matrix_ranks_its_cells_as_the_configuration_implies(tmp_path):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(f"""
database: {tmp_path}/matrix.sqlite
load: {{requests: 6, validators: 2}}
axes:
  backend:
    - {{kind: mock, delay_ms: 10}}
    - {{kind: mock, delay_ms: 300}}
  streaming_batch_size: [2]
  validator_timeout: [0.8, 6]
  concurrency: [2]
""")
    out = subprocess.run([MINERS_BIN, "matrix", str(matrix), "--json"], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "cell 4/4" in out.stderr  # progress as it goes
    result = json.loads(out.stdout)
    ranked = [(c["settings"]["backend"], c["settings"]["validator_timeout"]) for c in result["cells"]]
    # Fast cells score 1 with the earliest first chunk; the slow model within a generous
    # budget still scores 1 but later; within 0.8 s it delivers "The answer " and nothing more.
    assert set(ranked[:2]) == {("mock 10ms", "0.8"), ("mock 10ms", "6")}
    assert ranked[2:] == [("mock 300ms", "6"), ("mock 300ms", "0.8")]
    rewards = [c["summary"]["mean_reward"] for c in result["cells"]]
    assert rewards[:3] == [1, 1, 1] and rewards[3] == 0
    last = result["cells"][3]["summary"]
    assert last["statuses"] == {"408": 6} and last["partial"] == 6
    assert all(c["cpu_per_request_s"] > 0 for c in result["cells"])

    # Stored next to the workers' own rows: every simulated request has its worker-side row.
    db = tmp_path / "matrix.sqlite"
    joined = query(db, """select count(*) as n from sim_requests s join requests r on r.uuid = s.uuid
                          join sim_cells c on c.id = s.cell_id and c.name = r.worker""")
    assert joined[0]["n"] == 24
    again = subprocess.run([MINERS_BIN, "status", "--db", str(db), "--run", str(result["run"]), "--json"],
                           capture_output=True, text=True, timeout=30)
    reopened = json.loads(again.stdout)
    assert [c["cell"] for c in reopened["cells"]] == [c["cell"] for c in result["cells"]]
