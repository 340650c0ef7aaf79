"""Admission against real clients: what the bittensor 10.5.0 axon accepts is accepted, forged,
tampered, replayed, stale, future and misdirected requests are refused with the axon's codes and
words, and every refusal is a row."""
import asyncio
import json
import socket
import sqlite3
import subprocess
import time

import bittensor as bt
import pytest

from interop_support import (
    HOTKEYS, MINERS_BIN, VALIDATOR, ask, free_port, query, question, raw_post, signed_headers, synapse_body,
    wait_until,
)

MINER = HOTKEYS[0]
OTHER_MINER = HOTKEYS[1]
MESSAGES = [question("What is 2+2?")]


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admission")
    metagraph = tmp / "metagraph.json"
    rich, poor = bt.Keypair.create_from_uri("//Rich"), bt.Keypair.create_from_uri("//Poor")
    metagraph.write_text(json.dumps({"netuid": 35, "neurons": [
        {"hotkey": VALIDATOR.ss58_address, "uid": 0, "stake": 5000.0, "validator_permit": True},
        {"hotkey": rich.ss58_address, "uid": 1, "stake": 9000.0, "validator_permit": True},
        {"hotkey": poor.ss58_address, "uid": 2, "stake": 3.0, "validator_permit": True},
    ]}))
    denied = bt.Keypair.create_from_uri("//Denied")
    (tmp / "config.yaml").write_text(f"""
database: {tmp}/log.sqlite
miners:
  - name: guarded
    hotkey: {MINER}
    port: {free_port()}
    backend: {{kind: mock}}
    blacklist: {{metagraph: {metagraph}, min_stake: 100, deny: [{denied.ss58_address}]}}
""")
    proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", "guarded", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=open(tmp / "worker.log", "w"), text=True)
    port = int(proc.stdout.readline().rsplit(":", 1)[1])
    yield {"port": port, "db": tmp / "log.sqlite", "metagraph": metagraph, "rich": rich, "poor": poor, "denied": denied}
    proc.terminate()
    proc.wait(timeout=15)


def post(worker, headers, messages=MESSAGES):
    return asyncio.run(raw_post(worker["port"], headers, synapse_body(messages)))


def test_the_real_dendrite_is_admitted(worker):
    final = asyncio.run(ask(worker["port"], MINER, MESSAGES[0], timeout=10))
    assert final.dendrite.status_code == 200
    assert final.completion == "The answer is 4. So the final answer is: 4"


def test_a_dendrite_signing_for_another_miner_is_refused(worker):
    # The real dendrite signs for the axon hotkey it was given: not this miner's.
    final = asyncio.run(ask(worker["port"], OTHER_MINER, MESSAGES[0], timeout=10))
    assert final.dendrite.status_code == 401
    assert final.dendrite.status_message.startswith(f"Not Verified with error: Signature mismatch with ")
    assert f".{MINER}." in final.dendrite.status_message  # checked against our own hotkey


@pytest.mark.parametrize("bend, status, message", [
    ({"sign_for": OTHER_MINER}, 401, "Not Verified with error: Signature mismatch with "),
    ({"nonce_offset": -60}, 401, "Not Verified with error: Nonce is too old: acceptable delta is 14.00 seconds but request was 60."),
    ({"nonce_offset": 120}, 401, "Not Verified with error: Nonce is too far in the future: 1"),
    ({"body_hash_header": "ab" * 32}, 400, "Body hash mismatch"),
])
def test_bent_requests_are_refused(worker, bend, status, message):
    bend = dict(bend)
    if "nonce_offset" in bend:  # relative to now, when the request is made
        bend["nonce"] = time.time_ns() + bend.pop("nonce_offset") * 10**9
    got_status, payload = post(worker, signed_headers(MINER, MESSAGES, **bend))
    assert got_status == status
    assert payload["message"].startswith(message)


def test_a_tampered_signature_and_a_forged_signer_are_refused(worker):
    headers = signed_headers(MINER, MESSAGES)
    signature = bytearray(bytes.fromhex(headers["bt_header_dendrite_signature"][2:]))
    signature[10] ^= 1
    headers["bt_header_dendrite_signature"] = "0x" + signature.hex()
    status, payload = post(worker, headers)
    assert status == 401 and payload["message"].startswith("Not Verified with error: Signature mismatch")
    # Claiming the validator's hotkey while signing with another key.
    forged = signed_headers(MINER, MESSAGES, signer=bt.Keypair.create_from_uri("//Mallory"))
    forged["bt_header_dendrite_hotkey"] = VALIDATOR.ss58_address
    status, payload = post(worker, forged)
    assert status == 401 and payload["message"].startswith("Not Verified with error: Signature mismatch")


def test_a_replay_is_refused(worker):
    headers = signed_headers(MINER, MESSAGES, session="replay-session")
    assert post(worker, headers)[0] == 200
    status, payload = post(worker, headers)
    assert (status, payload["message"]) == (401, "Not Verified with error: Nonce is too old, a newer one was last processed")


def test_the_blacklist_reads_the_metagraph(worker):
    status, payload = post(worker, signed_headers(MINER, MESSAGES, signer=worker["poor"]))
    assert status == 403
    assert payload["message"] == (f"Forbidden. Key is blacklisted: Stake of {worker['poor'].ss58_address} (uid 2) "
                                  f"is 3.00, below the minimum of 100.00.")
    status, payload = post(worker, signed_headers(MINER, MESSAGES, signer=worker["denied"]))
    assert status == 403 and "is on this miner's deny list" in payload["message"]
    stranger = bt.Keypair.create_from_uri("//Stranger")
    status, payload = post(worker, signed_headers(MINER, MESSAGES, signer=stranger))
    assert status == 403 and payload["message"].startswith(f"Forbidden. Key is blacklisted: Unrecognized hotkey {stranger.ss58_address}")
    assert post(worker, signed_headers(MINER, MESSAGES, signer=worker["rich"]))[0] == 200


def test_a_new_snapshot_applies_without_a_restart(worker):
    newcomer = bt.Keypair.create_from_uri("//Newcomer")
    assert post(worker, signed_headers(MINER, MESSAGES, signer=newcomer))[0] == 403
    data = json.loads(worker["metagraph"].read_text())
    data["neurons"].append({"hotkey": newcomer.ss58_address, "uid": 9, "stake": 500.0, "validator_permit": True})
    time.sleep(1.1)  # a new modification time
    worker["metagraph"].write_text(json.dumps(data))
    assert wait_until(lambda: post(worker, signed_headers(MINER, MESSAGES, signer=newcomer))[0] == 200, timeout=5)


def test_every_refusal_is_a_row(worker):
    # Refusals before a verified signature are written once a second, aggregated.
    wait_until(lambda: query(worker["db"], "select coalesce(sum(count), 0) from requests where status = 403")[0][0] >= 3, timeout=6)
    rows = query(worker["db"], "select status, reason, detail, validator_hotkey, claimed_hotkey from requests where outcome = 'rejected'")
    reasons = {r["reason"] for r in rows}
    assert {"bad_signature", "stale_nonce", "future_nonce", "low_stake", "denied", "not_registered"} <= reasons
    stale = next(r for r in rows if r["reason"] == "stale_nonce" and "acceptable delta" in r["detail"])
    assert stale["status"] == 401 and "seconds old" in stale["detail"]
    # Nobody's signature verified in these: the hotkey they named is kept as a claim only.
    unverified = [r for r in rows if r["status"] in (401, 403)]
    assert unverified and all(r["validator_hotkey"] is None and r["claimed_hotkey"] for r in unverified)
    # `miners status` shows them per validator, marked as claimed.
    out = subprocess.run([MINERS_BIN, "status", "--db", str(worker["db"])], capture_output=True, text=True, timeout=30)
    section = out.stdout.split("refused in the last 5 minutes, by validator:")[1]
    assert any(line.split()[:4] == [worker["poor"].ss58_address, "(claimed)", "403", "low_stake"] for line in section.splitlines())


def test_a_strangers_control_characters_reach_no_terminal(worker):
    # HTTP lets a header carry C1 controls (as obs-text bytes); the claimed hotkey is logged
    # with them shown as ?, so neither `miners status` nor a log file replays them.
    claimed = "5Evil\u009b2J\u009d0;pwned\u2028forged"
    head = (b"POST /StreameinsteinSynapse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nbt_header_dendrite_hotkey: " + claimed.encode() + b"\r\n\r\n{}")
    with socket.create_connection(("127.0.0.1", worker["port"]), timeout=10) as connection:
        connection.sendall(head)
        assert connection.recv(65536).startswith(b"HTTP/1.1 4")
    logged = wait_until(lambda: query(worker["db"], "select claimed_hotkey from requests where claimed_hotkey like '5Evil%'"), 6)
    assert [r[0] for r in logged] == ["5Evil?2J?0;pwned?forged"]
    # What other peers wrote into the log (a chain node's error here) is shown the same way.
    with sqlite3.connect(worker["db"]) as db:
        db.execute("insert into chain_events (at, kind, miner, network, netuid, outcome, detail) values (?, 'serve', 'guarded', "
                   "'local', 35, 'failed', ?)", (time.time(), "node said \x1b]0;pwned\x07\x1b[2J\u009b31m\r\nserve forged  local"))
    out = subprocess.run([MINERS_BIN, "status", "--db", str(worker["db"])], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    # One row is one line: a line feed in a peer's text cannot forge a row.
    assert "node said ?]0;pwned??[2J?31m??serve forged  local" in out.stdout and "5Evil?2J?0;pwned?forged" in out.stdout, out.stdout
    assert not any(line.startswith("serve forged") for line in out.stdout.splitlines())
    assert not any(c in out.stdout for c in "\x1b\x07\u009b\u009d\u2028")


def start_worker(tmp, miner_yaml, name):
    (tmp / "config.yaml").write_text(f"database: {tmp}/log.sqlite\nminers:\n  - {miner_yaml}\n")
    proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp / "config.yaml"), "--miner", name, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.wait(timeout=10)
        raise AssertionError(f"worker did not start: {proc.stderr.read()}")
    return proc, int(line.rsplit(":", 1)[1])


def test_a_wallet_hotkey_is_read_from_its_public_file_only(tmp_path):
    from bittensor_wallet import Wallet
    wallet = Wallet(name="miner", hotkey="default", path=str(tmp_path / "wallets"))
    wallet.create_new_hotkey(use_password=False, overwrite=True, suppress=True)
    hotkey_file = tmp_path / "wallets" / "miner" / "hotkeys" / "default"
    hotkey_file.chmod(0)  # the worker must not need the private half
    proc, port = start_worker(tmp_path, f"{{name: w, wallet: {{path: {tmp_path}/wallets, name: miner, hotkey: default}}, "
                                        f"port: {free_port()}, backend: {{kind: mock}}}}", "w")
    try:
        final = asyncio.run(ask(port, wallet.hotkey.ss58_address, MESSAGES[0], timeout=10))
        assert final.dendrite.status_code == 200 and final.completion.endswith("So the final answer is: 4")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    (tmp_path / "wallets" / "miner" / "hotkeys" / "defaultpub.txt").unlink()
    check = subprocess.run([MINERS_BIN, "check", str(tmp_path / "config.yaml")], capture_output=True, text=True)
    assert check.returncode == 1
    assert "cannot read the wallet's public hotkey file" in check.stderr and "the hotkey file exists" in check.stderr


def test_over_capacity_is_503(tmp_path):
    slow = '{kind: mock, text: "a b c d e f g h i j", delay_ms: 100}'
    proc, port = start_worker(tmp_path, f"{{name: c, hotkey: {MINER}, port: {free_port()}, backend: {slow}, "
                                        f"max_concurrent_streams: 1, max_queued_requests: 1}}", "c")
    try:
        async def three():
            requests = [asyncio.create_task(raw_post(port, signed_headers(MINER, MESSAGES, session=f"s{i}"), synapse_body(MESSAGES)))
                        for i in range(3)]
            return await asyncio.gather(*requests)
        statuses = sorted(status for status, _ in asyncio.run(three()))
        # One streams, one waits in the queue and then streams, the third finds the queue full.
        assert statuses == [200, 200, 503]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    refusal = query(tmp_path / "log.sqlite", "select reason, detail from requests where status = 503")
    assert [r["reason"] for r in refusal] == ["over_capacity"]
    waited = query(tmp_path / "log.sqlite", "select max(queue_wait_s) from requests where status = 200")[0][0]
    assert waited > 0.5  # the queued one waited for the first stream (~1 s)
