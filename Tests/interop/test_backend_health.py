"""`miners status --config`: each model server the miners use, read from its `/metrics` — a
vLLM's load, a server that is down, silent or without metrics — beside the live table."""
import json
import subprocess
import time

import pytest

from fake_metrics_server import FakeMetricsServer, vllm_metrics
from interop_support import HOTKEYS, MINERS_BIN, free_port
from test_supervisor import miner, supervisor  # noqa: F401 (a fixture)

TWO_MODELS = {"Qwen/Qwen2.5-1.5B-Instruct": (3, 1, 0.4207), "meta-llama/Llama-3.2-1B": (2, 4, 0.125)}


@pytest.fixture
def metrics_servers():
    started = []

    def start(**kwargs):
        server = FakeMetricsServer(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def openai(base_url, extra=""):
    return f"{{kind: openai, base_url: '{base_url}', model: m{extra}}}"


def status(config, *args):
    started = time.monotonic()
    out = subprocess.run([MINERS_BIN, "status", "--config", str(config), *args], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout, time.monotonic() - started


def backends(config, *args):
    text, _ = status(config, "--json", *args)
    return {tuple(b["miners"]): b for b in json.loads(text).get("backends", [])}


def test_status_shows_the_load_of_a_vllm_and_a_backend_that_is_down(supervisor, metrics_servers):
    vllm = metrics_servers(text=vllm_metrics(TWO_MODELS))
    down = free_port()
    s = supervisor([
        miner(0, "a", free_port(), backend=openai(f"http://127.0.0.1:{vllm.port}/v1")),
        miner(1, "b", free_port(), backend=openai(f"http://127.0.0.1:{vllm.port}/v1")),
        miner(2, "c", free_port(), backend=openai(f"http://127.0.0.1:{down}/v1")),
        miner(3, "d", free_port(), backend="{kind: mock}"),
    ])
    s.wait_running(["a", "b", "c", "d"])

    vllm.requests.clear()
    found = backends(s.config)
    # One GET for the two miners of one server; the mock has none.
    assert vllm.requests == ["/metrics"]
    assert set(found) == {("a", "b"), ("c",)}
    assert found[("a", "b")] == {
        "endpoint": f"http://127.0.0.1:{vllm.port}/v1", "metricsURL": f"http://127.0.0.1:{vllm.port}/metrics",
        "miners": ["a", "b"], "state": "ok", "server": "vllm", "running": 5, "waiting": 5, "kvCacheUsage": 0.4207,
    }
    c = found[("c",)]
    assert (c["state"], c["detail"], c["server"]) == ("unreachable", "connection refused", "unknown")
    assert "running" not in c and "kvCacheUsage" not in c

    table, elapsed = status(s.config)
    assert elapsed < 8
    lines = table.splitlines()
    head = lines.index("backends (their /metrics, now):")
    assert lines[head + 1].split() == ["ENDPOINT", "MINERS", "SERVER", "RUNNING", "WAITING", "KV", "CACHE", "STATE"]
    assert lines[head + 2].split() == [f"http://127.0.0.1:{vllm.port}/v1", "a,b", "vllm", "5", "5", "42.1%", "ok"]
    assert lines[head + 3].split() == [f"http://127.0.0.1:{down}/v1", "c", "unknown", "-", "-", "-", "unreachable",
                                       "(connection", "refused)"]
    # The miners' table is still there, above.
    assert lines.index("backends (their /metrics, now):") > [i for i, l in enumerate(lines) if l.startswith("NAME")][0]

    # Read again at each call: the figures of now.
    vllm.text = vllm_metrics({"Qwen/Qwen2.5-1.5B-Instruct": (0, 9, 0.97)})
    now = backends(s.config)[("a", "b")]
    assert (now["running"], now["waiting"], now["kvCacheUsage"]) == (0, 9, 0.97)

    # The analysis of a window does not ask the servers.
    vllm.requests.clear()
    text, _ = status(s.config, "--json", "--since", "1h")
    assert "backends" not in json.loads(text) and vllm.requests == []


def test_silent_and_metricless_servers_do_not_hold_up_status(tmp_path, metrics_servers):
    """No supervisor needed: the config says where the servers are."""
    silent = metrics_servers(hang=True)
    ollama = metrics_servers(text="404 page not found", status=404)
    other = metrics_servers(text="# TYPE go_goroutines gauge\ngo_goroutines 12\n")
    sglang = metrics_servers(text='sglang:num_running_reqs{model_name="q"} 7.0\nsglang:num_queue_reqs{model_name="q"} 2.0\n'
                                  'sglang:token_usage{model_name="q"} 0.5\n')
    config = tmp_path / "miners.yaml"
    config.write_text("\n".join([
        f"database: {tmp_path}/log.sqlite", "miners:",
        f"  - {{name: s, hotkey: {HOTKEYS[0]}, port: {free_port()}, backend: {openai(f'http://127.0.0.1:{silent.port}/v1')}}}",
        f"  - {{name: o, hotkey: {HOTKEYS[1]}, port: {free_port()}, backend: {openai(f'http://127.0.0.1:{ollama.port}/v1')}}}",
        f"  - {{name: t, hotkey: {HOTKEYS[2]}, port: {free_port()}, "
        f"backend: {{kind: tgi, base_url: 'http://127.0.0.1:{other.port}'}}}}",
        # metrics_url: the server's metrics elsewhere than /metrics of base_url.
        f"  - {{name: g, hotkey: {HOTKEYS[3]}, port: {free_port()}, backend: "
        f"{openai('http://127.0.0.1:1/v1', f', metrics_url: http://127.0.0.1:{sglang.port}/sglang-metrics')}}}",
    ]) + "\n")

    text, elapsed = status(config, "--json")
    # Four servers at once, the silent one cut off at 2 s.
    assert elapsed < 8  # the scrape is bounded at 2.5 s; the rest is slack for a loaded machine
    found = {tuple(b["miners"]): b for b in json.loads(text)["backends"]}
    assert (found[("s",)]["state"], found[("s",)]["detail"]) == ("unreachable", "no answer within 2s")
    assert (found[("o",)]["state"], found[("o",)]["detail"]) == ("http-error", "HTTP 404")
    assert (found[("t",)]["state"], found[("t",)]["server"]) == ("no-metrics", "unknown")
    g = found[("g",)]
    assert (g["state"], g["server"], g["running"], g["waiting"], g["kvCacheUsage"]) == ("ok", "sglang", 7, 2, 0.5)
    assert g["metricsURL"] == f"http://127.0.0.1:{sglang.port}/sglang-metrics" and sglang.requests == ["/sglang-metrics"]

    table, elapsed = status(config)
    assert elapsed < 8  # the scrape is bounded at 2.5 s; the rest is slack for a loaded machine
    rows = {line.split()[1]: line for line in table.splitlines() if line.startswith("http://")}
    assert rows["s"].endswith("unreachable (no answer within 2s)")
    assert rows["o"].endswith("no metrics (HTTP 404)")
    assert rows["t"].endswith("no metrics")
    assert rows["g"].split()[2:] == ["sglang", "7", "2", "50.0%", "ok"]


def test_a_db_only_status_has_no_backends(supervisor, metrics_servers):
    vllm = metrics_servers(text=vllm_metrics(TWO_MODELS))
    s = supervisor([miner(0, "a", free_port(), backend=openai(f"http://127.0.0.1:{vllm.port}/v1"))])
    s.wait_running(["a"])
    vllm.requests.clear()
    out = subprocess.run([MINERS_BIN, "status", "--db", str(s.db), "--json"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "backends" not in json.loads(out.stdout) and vllm.requests == []
