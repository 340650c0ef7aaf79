"""`miners status` analysis and `miners report` over a log filled by real streams with known
outcomes; the report is opened in a real headless browser (Debian's chromium)."""
import asyncio
import json
import shutil
import subprocess

from interop_support import HOTKEYS, MINERS_BIN, ask, free_port, question, raw_post, signed_headers, synapse_body

TEXT = " ".join(f"w{i}" for i in range(12))


def test_analysis_and_report_show_what_happened(tmp_path):
    (tmp_path / "config.yaml").write_text(
        f"database: {tmp_path}/log.sqlite\nminers:\n"
        f"  - {{name: quick, hotkey: {HOTKEYS[0]}, port: {free_port()}, streaming_batch_size: 4, backend: {{kind: mock, text: '{TEXT}'}}}}\n"
        f"  - {{name: slow, hotkey: {HOTKEYS[1]}, port: {free_port()}, streaming_batch_size: 2, timeout: 0.5,"
        f" backend: {{kind: mock, text: '{TEXT}', delay_ms: 100}}}}\n")
    workers = {}
    for name in ("quick", "slow"):
        proc = subprocess.Popen([MINERS_BIN, "worker", "--config", str(tmp_path / "config.yaml"), "--miner", name, "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        workers[name] = (proc, int(proc.stdout.readline().rsplit(":", 1)[1]))
    try:
        quick, slow = workers["quick"][1], workers["slow"][1]
        assert asyncio.run(ask(quick, HOTKEYS[0], question("a"), 10)).completion == TEXT
        assert asyncio.run(ask(quick, HOTKEYS[0], question("b"), 10)).completion == TEXT
        partial = asyncio.run(ask(slow, HOTKEYS[1], question("c"), 10))
        assert partial.dendrite.status_code == 200 and TEXT.startswith(partial.completion) and partial.completion != TEXT
        forged = signed_headers(HOTKEYS[0], ["x"], sign_for=HOTKEYS[1])
        assert asyncio.run(raw_post(quick, forged, synapse_body(["x"])))[0] == 401
    finally:
        for proc, _ in workers.values():
            proc.terminate()
            proc.wait(timeout=15)
    db = str(tmp_path / "log.sqlite")

    status = json.loads(subprocess.run([MINERS_BIN, "status", "--db", db, "--since", "1h", "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    groups = {g["group"]["miner"]: g for g in status["analysis"]}
    assert groups["quick"]["outcomes"] == {"complete": 2, "rejected": 1}
    assert groups["quick"]["rejections"] == {"bad_signature": 1}
    assert groups["quick"]["finalAnswerRate"] == 0 and groups["quick"]["meanBatchesPerRequest"] == 3
    assert groups["slow"]["outcomes"] == {"partial_timeout": 1}
    assert groups["slow"]["itemsSentBeforeTimeout"] == len(partial.completion.split())
    csv = subprocess.run([MINERS_BIN, "status", "--db", db, "--since", "1h", "--by", "validator", "--csv"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert csv[0].startswith("validator,requests,complete,partial_timeout") and len(csv) == 3
    # The forged request's signature never verified: it counts for no validator ('-').
    unverified = next(line.split(",") for line in csv[1:] if line.startswith("-,"))
    assert unverified[1] == "1" and unverified[csv[0].split(",").index("rejected")] == "1"

    report = tmp_path / "report.html"
    subprocess.run([MINERS_BIN, "report", "--db", db, "--since", "1h", "--out", str(report)], check=True, capture_output=True)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is missing: .ci/run installs it"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run([browser, *flags, "--dump-dom", f"file://{report}"], capture_output=True, text=True, timeout=120).stdout
    assert 'data-miner="quick"' in dom and 'data-miner="slow"' in dom
    assert 'data-outcome="complete" data-count="2"' in dom
    assert 'data-outcome="partial_timeout" data-count="1"' in dom
    assert dom.count('<g class="timeline"') == 3
    screenshot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={screenshot}", "--window-size=1200,1600", f"file://{report}"],
                   capture_output=True, timeout=120)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
