"""Faults: workers killed with SIGKILL at random moments under load lose no logged row — every
answer a client saw complete has its row, requests cut by a kill are marked `interrupted` when
the next worker starts, and the database stays intact. The kill loop runs 12 s here; for a
longer run: `MINERS_KILL_SECONDS=120 MINERS_BIN=.build/release/miners .venv/bin/pytest
Tests/interop/test_faults.py -k random_kills -s` (it prints its figures)."""
import asyncio
import os
import random
import signal
import time
import uuid

import aiohttp

from interop_support import HOTKEYS, miners_json, query, question, signed_headers, synapse_body, wait_until
from test_supervisor import miner, supervisor  # noqa: F401 (fixture)

WORDS = " ".join(f"w{i}" for i in range(20))
RESTART = "{backoff_initial: 0.05, backoff_max: 0.2, max_restarts: 10000, window: 60}"


async def one_request(session, port, hotkey, results):
    """A signed request with a known uuid; records whether the client saw the whole answer."""
    request_uuid = str(uuid.uuid4())
    messages = [question(request_uuid[:8])]
    headers = signed_headers(hotkey, messages, 10.0, session=request_uuid)
    outcome = "error"
    try:
        async with session.post(f"http://127.0.0.1:{port}/StreameinsteinSynapse", data=synapse_body(messages, 10.0),
                                headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as response:
            text = (await response.read()).decode()  # raises if the stream is cut before its end
            outcome = "complete" if response.status == 200 and text == WORDS else f"status {response.status}"
    except (aiohttp.ClientError, asyncio.TimeoutError):
        outcome = "cut"
    results.append((request_uuid, outcome))


async def load_with_kills(s, ports, seconds, concurrency=12, seed=35):
    rng = random.Random(seed)
    results, kills = [], 0
    deadline = time.monotonic() + seconds

    async def client(index):
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                slot = rng.randrange(len(ports))
                try:
                    await one_request(session, ports[slot], HOTKEYS[slot], results)
                except Exception:  # noqa: BLE001 — a refused connection while the worker restarts
                    await asyncio.sleep(0.05)

    async def killer():
        nonlocal kills
        while time.monotonic() < deadline - 0.5:
            await asyncio.sleep(rng.uniform(0.3, 0.9))
            status = miners_json("status", "--config", str(s.config)) or {}
            pids = [row["miner"].get("pid") for row in status.get("miners", []) if row["miner"].get("state") == "running"]
            if pids:
                os.kill(rng.choice(pids), signal.SIGKILL)
                kills += 1

    await asyncio.gather(killer(), *(client(i) for i in range(concurrency)))
    return results, kills


def test_random_kills_under_load_lose_no_row(supervisor):  # noqa: F811
    from interop_support import free_port
    ports = [free_port(), free_port()]
    backend = f'{{kind: mock, text: "{WORDS}", delay_ms: 5}}'
    s = supervisor([miner(i, f"m{i}", port, streaming_batch_size=4, backend=backend, restart=RESTART)
                    for i, port in enumerate(ports)])
    s.wait_running(["m0", "m1"])
    seconds = float(os.environ.get("MINERS_KILL_SECONDS", "12"))
    results, kills = asyncio.run(load_with_kills(s, ports, seconds=seconds))
    assert kills >= seconds * 0.6
    # Every worker back up means every journal left by a killed one has been replayed.
    s.wait_running(["m0", "m1"], timeout=20)
    s.stop()

    complete = [u for u, outcome in results if outcome == "complete"]
    cut = [u for u, outcome in results if outcome == "cut"]
    assert len(complete) > 100 and cut, (len(complete), len(cut))
    rows = {r["uuid"]: r for r in query(s.db, "select uuid, outcome, reason, batches from requests")}
    missing = [u for u in complete if u not in rows]
    assert not missing, f"{len(missing)} of {len(complete)} complete answers have no row"
    assert all(rows[u]["outcome"] == "complete" and rows[u]["batches"] == 5 for u in complete)
    duplicated = query(s.db, "select uuid, count(*) n from requests group by uuid having n > 1")
    assert not duplicated
    interrupted = query(s.db, "select count(*) n from requests where reason = 'interrupted'")[0]["n"]
    assert interrupted >= 1
    assert query(s.db, "pragma integrity_check")[0][0] == "ok"
    print(f"\n{seconds:.0f} s, {kills} kills, {len(results)} requests: {len(complete)} complete (all logged), "
          f"{len(cut)} cut, {interrupted} marked interrupted, 0 rows lost, integrity ok")


def test_a_supervisor_killed_and_restarted_while_workers_stream_loses_nothing(supervisor):  # noqa: F811
    from interop_support import free_port
    port = free_port()
    backend = f'{{kind: mock, text: "{WORDS}", delay_ms: 100}}'  # 2 s per answer
    s = supervisor([miner(0, "m0", port, streaming_batch_size=4, backend=backend)])
    s.wait_running(["m0"])

    async def streams():
        results = []
        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(one_request(session, port, HOTKEYS[0], results)) for _ in range(6)]
            await asyncio.sleep(0.5)
            s.proc.kill()  # mid-stream: the workers see their pipe close and drain for 0.5 s
            await asyncio.gather(*tasks)
        return results

    results = asyncio.run(streams())
    s.proc.wait()
    assert wait_until(lambda: port_free(port), timeout=5)
    # A new supervisor on the same config: its worker replays what the old one journaled.
    again = supervisor([miner(0, "m0", port, streaming_batch_size=4, backend=backend)])
    again.wait_running(["m0"])
    final = asyncio.run(ask_one(port))
    assert final == "complete"
    again.stop()
    rows = {r["uuid"]: r for r in query(again.db, "select uuid, outcome, reason from requests")}
    assert len(results) == 6 and all(u in rows for u, _ in results), "a request of the killed supervisor has no row"
    for request_uuid, outcome in results:
        if outcome == "complete":
            assert rows[request_uuid]["outcome"] == "complete"
        else:  # cut by the drain: what was sent before the worker stopped, or interrupted
            assert rows[request_uuid]["outcome"] != "complete"
    assert query(again.db, "pragma integrity_check")[0][0] == "ok"


def port_free(port):
    from interop_support import port_is_free
    return port_is_free(port)


async def ask_one(port):
    results = []
    async with aiohttp.ClientSession() as session:
        await one_request(session, port, HOTKEYS[0], results)
    return results[0][1]
