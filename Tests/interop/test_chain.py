"""Chain access against a fake subtensor node on loopback (fake_node.py) that replays real
Finney recordings: the native metagraph equals what the real bittensor 10.5.0 decodes from the
same bytes, and `serve_axon` is signed, checked and answered as the chain would."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from bittensor_wallet import Wallet

from bittensor_metagraph import reference_metagraph
from fake_node import FakeNode, ip_to_int
from interop_support import MINERS_BIN, free_port, miners_json, query, wait_until, log_tail
from test_supervisor import Supervisor

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BITTENSOR_VERSION = 10005000


def miners(*args, timeout=60):
    return subprocess.run([MINERS_BIN, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def alice_wallet(tmp_path):
    """An unencrypted //Alice hotkey in a wallet of its own, as bittensor-wallet writes it."""
    wallet = Wallet(name="miner", hotkey="alice", path=str(tmp_path / "wallets"))
    wallet.create_hotkey_from_uri("//Alice", use_password=False, overwrite=True, suppress=True)
    secret = (tmp_path / "wallets/miner/hotkeys/alice").read_text()
    return {"path": str(tmp_path / "wallets"), "secret": secret}


def serve_config(tmp_path, wallet, url, port=8091, ip="203.0.113.7"):
    config = tmp_path / "miners.yaml"
    config.write_text(f"""database: {tmp_path / 'log.sqlite'}
miners:
  - name: alice
    wallet: {{path: {wallet['path']}, name: miner, hotkey: alice}}
    port: {free_port()}
    backend: {{kind: mock}}
    external_ip: {ip}
    external_port: {port}
    chain: {{network: "{url}", netuid: 1}}
""")
    return config


def test_metagraph_equals_bittensor_for_every_neuron(tmp_path):
    with FakeNode() as node:
        out = tmp_path / "metagraph.json"
        result = miners("chain", "metagraph", "--netuid", "1", "--network", node.url, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "1024 neurons, 12 validator permits, tempo 99" in result.stdout
        mine = json.loads(out.read_text())
        reference = reference_metagraph(node.url, 1)

    assert (mine["block"], mine["tempo"], mine["netuid"]) == (reference["block"], reference["tempo"], 1) == (6852690, 99, 1)
    assert len(mine["neurons"]) == len(reference["neurons"]) == 1024
    assert mine["immunity_period"] == reference["immunity_period"] == 7200
    fields = ["uid", "hotkey", "coldkey", "validator_permit", "active", "ip", "port", "ip_type", "last_update",
              "block_at_registration"]
    for ours, theirs in zip(mine["neurons"], reference["neurons"]):
        for field in fields:
            assert ours[field] == theirs[field], (ours["uid"], field)
        # metagraph.S, .I and .E are float32; the snapshot keeps float64.
        for field in ("stake", "incentive", "emission"):
            assert float(np.float32(ours[field])) == theirs[field], (ours["uid"], field)
        assert ours["stake_rao"] / 1e9 == ours["stake"]
    validators = [n for n in mine["neurons"] if n["validator_permit"]]
    assert len(validators) == 12 and all(n["stake"] > 0 for n in validators)


def test_serve_does_what_each_answer_of_the_chain_asks(tmp_path, alice_wallet):
    with FakeNode(block_seconds=0.1) as node:
        node.serving_rate_limit[1] = 30          # 3 s of blocks: room for the steps before it runs out
        config = serve_config(tmp_path, alice_wallet, node.url)
        db = tmp_path / "log.sqlite"

        # Not registered: the chain's code 10, in words; an error exit.
        result = miners("chain", "serve", str(config))
        assert result.returncode == 1
        assert "not registered on subnet 1" in result.stdout
        assert node.submissions[-1]["signature_ok"] and "Custom error: 10" in node.submissions[-1]["verdict"]

        # Registered: served, signed by the hotkey, with bittensor 10.5.0's version and protocol 4.
        node.netuid_registered(1, ALICE, uid=3)
        result = miners("chain", "serve", str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "alice: served: served 203.0.113.7:8091" in result.stdout
        axon = node.axon(1, ALICE)
        assert (axon["ip"], axon["port"], axon["ip_type"], axon["protocol"], axon["version"]) == (
            ip_to_int("203.0.113.7"), 8091, 4, 4, BITTENSOR_VERSION)
        sent = len(node.submissions)
        assert node.submissions[-1]["signature_ok"] and node.submissions[-1]["verdict"] == "ok"

        # Already served: nothing is signed or sent.
        result = miners("chain", "serve", str(config))
        assert result.returncode == 0 and "already_served" in result.stdout
        assert len(node.submissions) == sent

        # A new port within the rate limit: code 12 is not a failure.
        config = serve_config(tmp_path, alice_wallet, node.url, port=8092)
        result = miners("chain", "serve", str(config), "--no-wait")
        assert result.returncode == 0 and "rate_limited" in result.stdout and "retrying at block" in result.stdout
        assert "Custom error: 12" in node.submissions[-1]["verdict"]
        assert node.axon(1, ALICE)["port"] == 8091

        # Without --no-wait the command waits for the block the limit allows, then serves.
        result = miners("chain", "serve", str(config), "--poll-interval", "0.2")
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert [line.split(":")[1].strip() for line in lines] in (["rate_limited", "served"], ["served"])
        assert node.axon(1, ALICE)["port"] == 8092

        # A dry run compares and shows the call, and sends nothing.
        sent = len(node.submissions)
        config = serve_config(tmp_path, alice_wallet, node.url, port=8093)
        result = miners("chain", "serve", str(config), "--dry-run")
        assert result.returncode == 0 and "dry_run: would serve 203.0.113.7:8093" in result.stdout
        assert "call 0x070401000" in result.stdout
        assert len(node.submissions) == sent

    rows = query(db, "SELECT outcome FROM chain_events WHERE kind = 'serve' ORDER BY id")
    outcomes = [row["outcome"] for row in rows]
    assert outcomes[:4] == ["failed", "served", "already_served", "rate_limited"] and outcomes[-1] == "dry_run"
    # The hotkey's secret is in no output and no row.
    private_key = json.loads(alice_wallet["secret"])["privateKey"][2:]
    assert private_key not in result.stdout + result.stderr
    assert not query(db, "SELECT 1 FROM chain_events WHERE detail LIKE ?", (f"%{private_key[:16]}%",))


def test_a_chain_refusing_the_ip_or_an_unreachable_node_is_reported(tmp_path, alice_wallet):
    with FakeNode() as node:
        node.netuid_registered(1, ALICE, uid=3)
        node.force_error = "Custom error: 11"
        result = miners("chain", "serve", str(serve_config(tmp_path, alice_wallet, node.url)))
        assert result.returncode == 1 and "refuses this IP address (chain error 11" in result.stdout
    result = miners("chain", "serve", str(serve_config(tmp_path, alice_wallet, f"ws://127.0.0.1:{free_port()}")))
    assert result.returncode == 1 and "alice: failed" in result.stdout


@pytest.fixture
def supervisors():
    started = []
    yield started
    for s in started:
        s.stop()


def test_supervisor_serves_at_start_not_on_worker_restart_and_keeps_the_snapshot_fresh(
        tmp_path, alice_wallet, supervisors, monkeypatch):
    monkeypatch.setenv("MINERS_CHAIN_REFRESH_SECONDS", "1")  # instead of a tempo (99 blocks)
    snapshot = tmp_path / "metagraph.json"
    with FakeNode(block_seconds=0.1) as node:
        node.netuid_registered(1, ALICE, uid=3)
        entry = (f"{{name: alice, wallet: {{path: {alice_wallet['path']}, name: miner, hotkey: alice}}, "
                 f"port: {free_port()}, backend: {{kind: mock}}, external_ip: 203.0.113.7, external_port: 8091, "
                 f"chain: {{network: \"{node.url}\", netuid: 1, refresh: tempo}}, "
                 f"blacklist: {{metagraph: {snapshot}, allow_non_registered: true}}}}")
        s = Supervisor(tmp_path, [entry])
        supervisors.append(s)
        running = s.wait_running(["alice"])
        # The snapshot was written before the worker that reads it started.
        assert snapshot.exists()
        assert wait_until(lambda: node.axon(1, ALICE), 20), f"the supervisor did not serve; {log_tail(s.log.name)}"
        assert wait_until(lambda: len(query(
            s.db, "SELECT 1 FROM chain_events WHERE kind = 'metagraph' AND outcome = 'written'")) >= 2, 20)
        assert len(node.submissions) == 1

        # A worker killed and restarted does not serve again, nor does a reload that changes nothing.
        os.kill(running["alice"]["pid"], signal.SIGKILL)
        assert wait_until(lambda: s.miners().get("alice", {}).get("pid") not in (None, running["alice"]["pid"]), 20)
        s.wait_running(["alice"])
        assert miners("reload", "--config", str(s.config)).returncode == 0
        time.sleep(1.5)
        assert len(node.submissions) == 1

    # The node is gone: refreshes fail, the last good file stays, and status says so.
    def failures():
        return len(query(s.db, "SELECT 1 FROM chain_events WHERE kind = 'metagraph' AND outcome = 'failed'"))
    assert wait_until(lambda: failures() >= 1, 20)
    kept = snapshot.read_bytes()          # (a refresh under way when the node stopped may have written it)
    assert wait_until(lambda: failures() >= 2, 20)
    assert snapshot.read_bytes() == kept
    status = miners_json("status", "--config", str(s.config))
    seen = {(item["event"]["kind"], item["event"]["outcome"]) for item in status["chain"]}
    # The reload compared again and found the axon served: the last serve row says so.
    assert ("serve", "already_served") in seen and ("metagraph", "failed") in seen
    outcomes = [row["outcome"] for row in query(s.db, "SELECT outcome FROM chain_events WHERE kind = 'serve' ORDER BY id")]
    assert outcomes == ["served", "already_served"]
    text = miners("status", "--config", str(s.config)).stdout
    assert "last good snapshot" in text and "serve alice" in text


def test_wss_verifies_the_node_certificate(tmp_path):
    """TLS for wss://: a node whose certificate the client cannot verify is refused; trusting its
    CA (`--ca-file`, `chain.ca_file`) makes it work."""
    cert, key = tmp_path / "node.pem", tmp_path / "node.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with FakeNode(tls=(str(cert), str(key))) as node:
        url = f"wss://localhost:{node.port}"        # a certificate names a host; the node listens on 127.0.0.1
        out = tmp_path / "metagraph.json"
        refused = miners("chain", "metagraph", "--netuid", "1", "--network", url, "--out", str(out))
        assert refused.returncode == 1 and not out.exists()
        assert "certificate" in refused.stderr.lower(), refused.stderr
        by_address = miners("chain", "metagraph", "--netuid", "1", "--network", node.url, "--out", str(out),
                            "--ca-file", str(cert))
        assert by_address.returncode == 1 and "needs the node's host name" in by_address.stderr
        trusted = miners("chain", "metagraph", "--netuid", "1", "--network", url, "--out", str(out),
                         "--ca-file", str(cert))
        assert trusted.returncode == 0, trusted.stderr
        assert len(json.loads(out.read_text())["neurons"]) == 1024


def test_supervisor_retries_a_failed_serve_until_the_chain_has_the_axon(tmp_path, alice_wallet, supervisors, monkeypatch):
    """A node that is down at start, then a hotkey not registered yet: the supervisor keeps
    trying (with backoff) and serves once both are fixed, without a reload."""
    monkeypatch.setenv("MINERS_CHAIN_RETRY_SECONDS", "0.3")
    port = free_port()
    entry = (f"{{name: alice, wallet: {{path: {alice_wallet['path']}, name: miner, hotkey: alice}}, "
             f"port: {free_port()}, backend: {{kind: mock}}, external_ip: 203.0.113.7, "
             f"chain: {{network: \"ws://127.0.0.1:{port}\", netuid: 1}}}}")
    s = Supervisor(tmp_path, [entry])
    supervisors.append(s)
    s.wait_running(["alice"])

    def outcomes():
        return [row["outcome"] for row in query(s.db, "SELECT outcome FROM chain_events WHERE kind = 'serve' ORDER BY id")]
    assert wait_until(lambda: "failed" in outcomes(), 20)             # nothing listens yet
    with FakeNode(port=port) as node:
        assert wait_until(lambda: any(sub["verdict"] != "ok" for sub in node.submissions), 20)   # code 10
        assert node.axon(1, ALICE) is None
        node.netuid_registered(1, ALICE, uid=3)
        assert wait_until(lambda: node.axon(1, ALICE), 20), f"not served after registration; {log_tail(s.log.name)}"
        assert wait_until(lambda: outcomes()[-1:] == ["served"], 10)
        assert sum(1 for sub in node.submissions if sub["verdict"] == "ok") == 1
        assert node.axon(1, ALICE)["port"] == int(entry.split("port: ")[1].split(",")[0])  # external_port defaults to port
