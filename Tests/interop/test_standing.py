"""Own hotkeys' standing, recorded at each metagraph refresh from the fake node (the Finney
recording of subnet 1): the values equal what the real bittensor 10.5.0 reads from the same
bytes, and a hotkey whose uid goes to another is `deregistered` only after two reads in a row,
while its worker keeps serving."""
import asyncio
import subprocess

import numpy as np
import pytest

from bittensor_metagraph import reference_metagraph, reference_scores
from fake_node import FakeNode
from interop_support import MINERS_BIN, ask, free_port, miners_json, query, question, wait_until
from test_supervisor import Supervisor, scrape

ALPHA = "5HCFWvRqzSHWRPecN7q8J6c7aKQnrCZTMHstPv39xL1wgDHh"   # uid 395: the only incentive on the subnet
BETA = "5FmyPf6gnDDKe4cGED8CsnMsNhU5s1AfwguyjZJkAdT3vTmr"    # a uid registered within the immunity period


@pytest.fixture
def supervisors():
    started = []
    yield started
    for s in started:
        s.stop()


def rows(db, miner):
    return query(db, "SELECT * FROM standing WHERE miner = ? ORDER BY id", (miner,))


def failures(db):
    return len(query(db, "SELECT 1 FROM chain_events WHERE kind = 'metagraph' AND outcome = 'failed'"))


def standing(config):
    return {item["miner"]: item for item in miners_json("status", "--config", str(config))["standing"]}


def test_standing_rows_and_a_deregistration_confirmed_by_two_reads(tmp_path, supervisors, monkeypatch):
    monkeypatch.setenv("MINERS_CHAIN_REFRESH_SECONDS", "1")
    snapshot, metrics = tmp_path / "metagraph.json", free_port()
    with FakeNode() as node:
        reference = reference_metagraph(node.url, 1)
        scores = reference_scores(node.url, 1)
        by_hotkey = {n["hotkey"]: n for n in reference["neurons"]}
        assert by_hotkey[BETA]["block_at_registration"] + 7200 > reference["block"]   # still immune

        def entry(name, hotkey):
            return (f"{{name: {name}, hotkey: {hotkey}, port: {free_port()}, backend: {{kind: mock}}, "
                    f"chain: {{network: \"{node.url}\", netuid: 1, refresh: tempo}}, "
                    f"blacklist: {{metagraph: {snapshot}, allow_non_registered: true}}}}")
        s = Supervisor(tmp_path, [entry("alpha", ALPHA), entry("beta", BETA)], metrics_port=metrics)
        supervisors.append(s)
        running = s.wait_running(["alpha", "beta"])
        assert wait_until(lambda: len(rows(s.db, "alpha")) >= 2 and len(rows(s.db, "beta")) >= 2, 30), \
            f"no standing rows; see {s.log.name}"

        # Each row holds what bittensor reads for that uid (float32 in its metagraph).
        for miner, hotkey in (("alpha", ALPHA), ("beta", BETA)):
            row, theirs = rows(s.db, miner)[-1], by_hotkey[hotkey]
            uid = theirs["uid"]
            assert (row["registered"], row["uid"], row["block"], row["tempo"]) == (1, uid, 6852690, 99)
            assert (row["rank"], row["trust"], row["incentive"]) == tuple(scores[uid][k] for k in ("rank", "trust", "incentive"))
            assert row["emission"] == scores[uid]["emission"]
            assert float(np.float32(row["incentive"])) == theirs["incentive"]
            assert float(np.float32(row["emission"])) == theirs["emission"]
            assert float(np.float32(row["stake"])) == theirs["stake"]
            assert (row["registration_block"], row["last_update"]) == (theirs["block_at_registration"], theirs["last_update"])
            assert row["immunity_left"] == max(0, theirs["block_at_registration"] + 7200 - 6852690)
        alpha = rows(s.db, "alpha")[-1]
        assert (alpha["uid"], alpha["incentive"], alpha["rank"], alpha["trust"], alpha["immunity_left"]) == (395, 1.0, 1.0, 1.0, 0)
        assert rows(s.db, "beta")[-1]["immunity_left"] == 1337

        status = standing(s.config)
        assert status["alpha"]["state"] == "registered"
        assert status["alpha"]["emissionPerDay"] == pytest.approx(41.000228794 * 7200 / 100)
        m = scrape(metrics)
        assert m['miners_hotkey_registered{miner="alpha"}'] == 1 and m['miners_hotkey_incentive{miner="alpha"}'] == 1
        assert m['miners_hotkey_emission_per_day{miner="alpha"}'] == pytest.approx(41.000228794 * 72)
        assert m['miners_hotkey_immunity_blocks{miner="beta"}'] == 1337

        # Reads refused: refreshes fail and write no standing rows (a bad read is not a deregistration).
        node.allow_metagraph_reads(0)
        before = failures(s.db)
        assert wait_until(lambda: failures(s.db) >= before + 2, 20)
        count = len(rows(s.db, "alpha"))
        assert wait_until(lambda: failures(s.db) >= before + 3, 20) and len(rows(s.db, "alpha")) == count

        # Another hotkey takes uid 395; one read: not yet believed.
        node.deregister(ALPHA)
        node.allow_metagraph_reads(1)
        assert wait_until(lambda: len(rows(s.db, "alpha")) == count + 1, 20)
        assert rows(s.db, "alpha")[-1]["registered"] == 0 and rows(s.db, "alpha")[-1]["uid"] is None
        assert standing(s.config)["alpha"]["state"] == "not_registered_unconfirmed"
        text = s.status_text()     # the last registered values stay shown
        assert [line for line in text.splitlines() if line.startswith("alpha") and " 395 " in line and "not registered?" in line], text
        assert scrape(metrics)['miners_hotkey_registered{miner="alpha"}'] == 1

        # A second read in a row: deregistered.
        node.allow_metagraph_reads(1)
        assert wait_until(lambda: len(rows(s.db, "alpha")) == count + 2, 20)
        status = standing(s.config)
        assert status["alpha"]["state"] == "deregistered" and status["beta"]["state"] == "registered"
        text = s.status_text()
        assert [line for line in text.splitlines() if line.startswith("alpha") and "deregistered" in line], text
        m = scrape(metrics)
        assert m['miners_hotkey_registered{miner="alpha"}'] == 0 and m['miners_hotkey_incentive{miner="alpha"}'] == 0
        assert m['miners_hotkey_registered{miner="beta"}'] == 1

        # The worker was left alone and still answers.
        assert s.miners()["alpha"]["pid"] == running["alpha"]["pid"]
        final = asyncio.run(ask(running["alpha"]["port"], ALPHA, question("What is 2+2?"), timeout=10))
        assert final.dendrite.status_code == 200 and final.completion

        # Registered again: the next good read says so.
        node.register_again(ALPHA)
        node.allow_metagraph_reads(None)
        assert wait_until(lambda: rows(s.db, "alpha")[-1]["registered"] == 1, 20)
        assert standing(s.config)["alpha"]["state"] == "registered"
        assert scrape(metrics)['miners_hotkey_registered{miner="alpha"}'] == 1

    # The report draws alpha's incentive, the two unregistered reads hollow at 0.
    out = tmp_path / "report.html"
    result = subprocess.run([MINERS_BIN, "report", "--db", str(s.db), "--since", "1h", "--out", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert 'class="standing" data-miner="alpha"' in html and 'class="standing" data-miner="beta"' in html
    assert html.count('data-incentive="unregistered"') == 2
