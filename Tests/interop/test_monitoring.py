"""deploy/prometheus and deploy/grafana: the scrape config and rules checked by Debian's promtool,
the rules' unit tests, the dashboard's expressions parsed and run, and a real Prometheus server
scraping a live `miners supervise` whose alert fires on a stopped miner and resolves."""
import asyncio
import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from interop_support import (
    HOTKEYS, MINERS_BIN, ask, free_port, question, raw_post, signed_headers, synapse_body, wait_until,
)
from test_supervisor import MOCK40, miner, supervisor  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy/prometheus"
RULES = PROMETHEUS_DIR / "rules/miners.rules.yml"
DASHBOARD = ROOT / "deploy/grafana/miners-dashboard.json"
ALERTS = {"MinersSupervisorDown", "MinerDown", "MinerCrashLooping", "TimeoutRateHigh", "NoValidatorRequests",
          "ReplicationLagHigh"}
# Added by the replication work (issue 19, part 1); not exported by every supervisor.
REPLICATION_METRICS = {"miners_replication_lag_seconds", "miners_replication_backlog_rows"}
# Grafana's macros and the dashboard's variables, as a query would see them with "All" chosen.
MACROS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$host": ".*", "$miner": ".*"}


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} not found: .ci/run installs Debian's prometheus package"
    return path


def promtool(*args, cwd=None):
    return subprocess.run([tool("promtool"), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def metric_names(expr):
    """The `miners_*` metric names an expression reads (not inside strings, not recording rules)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(re.findall(r"(?<![\w:])(miners_\w+)(?![\w:])", expr))


def dashboard_exprs():
    """Every PromQL expression of the dashboard (panels, rows' panels, the variables' selectors), with
    Grafana's macros and variables replaced as Grafana would."""
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for top in dashboard["panels"] for p in [top, *top.get("panels", [])]]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(re.fullmatch(r"label_values\((.*), *\w+\)", variable["query"]["query"]).group(1))
    for macro, value in MACROS.items():
        exprs = [e.replace(macro, value) for e in exprs]
    return dashboard, panels, exprs


def rule_exprs():
    return [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_checks_the_scrape_config_and_the_rules():
    result = promtool("check", "config", PROMETHEUS_DIR / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid prometheus config file syntax" in result.stdout and "rules/miners.rules.yml" in result.stdout
    result = promtool("check", "rules", RULES)
    assert result.returncode == 0 and "SUCCESS: 9 rules found" in result.stdout, result.stdout + result.stderr
    alerts = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    assert set(alerts) == ALERTS
    for name, rule in alerts.items():
        assert "for" in rule and rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 100, name
    # Every host has its `host` label: given per target, or the target's address without the port.
    scrape = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["job_name"] == "miners" and sum("host" in s.get("labels", {}) for s in scrape["static_configs"]) >= 3
    assert scrape["relabel_configs"][0]["target_label"] == "host"


def test_promtool_rule_unit_tests_pass_and_catch_a_broken_rule(tmp_path):
    tests = sorted(PROMETHEUS_DIR.glob("tests/*.yml"))
    result = promtool("test", "rules", *tests)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    # Each alert is seen firing and seen not firing.
    cases = [c for t in tests for test in yaml.safe_load(t.read_text())["tests"] for c in test.get("alert_rule_test", [])]
    assert {c["alertname"] for c in cases if c["exp_alerts"]} == ALERTS
    assert {c["alertname"] for c in cases if not c["exp_alerts"]} == ALERTS
    # The tests bite: a MinerDown that forgets its `for:` and a timeout rate counting rejected
    # requests both fail them.
    for broken in [("for: 2m\n        labels:\n          severity: critical\n        annotations:\n          summary: \"Miner",
                    "for: 0m\n        labels:\n          severity: critical\n        annotations:\n          summary: \"Miner"),
                   ('(increase(miners_requests_total{outcome!="rejected"}[15m]))\n          ) > 0.2',
                    "(increase(miners_requests_total[15m]))\n          ) > 0.2")]:
        text = RULES.read_text()
        assert broken[0] in text
        (tmp_path / "rules").mkdir(exist_ok=True)
        (tmp_path / "tests").mkdir(exist_ok=True)
        (tmp_path / "rules/miners.rules.yml").write_text(text.replace(broken[0], broken[1]))
        for t in tests:
            shutil.copy(t, tmp_path / "tests" / t.name)
        result = promtool("test", "rules", *sorted((tmp_path / "tests").glob("*.yml")))
        assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr, broken


def test_dashboard_is_json_with_host_and_miner_variables_and_every_expression_parses(tmp_path):
    dashboard, panels, exprs = dashboard_exprs()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["host"]["query"]["query"] == "label_values(miners_worker_up, host)"
    assert variables["miner"]["query"]["query"] == 'label_values(miners_worker_up{host=~"$host"}, miner)'
    assert len({p["id"] for p in panels}) == len(panels)
    titles = {p["title"] for p in panels}
    assert {"Requests by outcome", "Time to first batch (p50, p95)", "Partial share", "Restarts and crash loops (per hour)",
            "Replication lag"} <= titles
    for p in panels:
        for target in p["targets"]:
            if not metric_names(target["expr"]) & REPLICATION_METRICS:  # per host and miner
                assert 'host=~"$host"' in target["expr"] and 'miner=~"$miner"' in target["expr"], target["expr"]
                assert "host" in target["legendFormat"] and "miner" in target["legendFormat"]
    assert any("histogram_quantile(0.95" in e and "miners_time_to_first_batch_seconds_bucket" in e for e in exprs)
    # promtool parses each expression as a recording rule's.
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:expr{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", tmp_path / "dashboard.rules.yml")
    assert result.returncode == 0 and f"SUCCESS: {len(exprs)} rules found" in result.stdout, result.stdout + result.stderr


def http_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def exported_names(metrics_port):
    """The sample names of the supervisor's /metrics (histograms with _bucket, _sum, _count)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {re.match(r"[a-zA-Z_:][\w:]*", line).group(0) for line in text.splitlines() if line and not line.startswith("#")}


def test_real_prometheus_scrapes_a_supervisor_and_minerdown_fires_for_a_stopped_miner_then_resolves(supervisor, tmp_path):
    ports, metrics_port, web_port = [free_port(), free_port()], free_port(), free_port()
    s = supervisor([miner(0, "alpha", ports[0], streaming_batch_size=4, backend=MOCK40),
                    miner(1, "bravo", ports[1], streaming_batch_size=4, backend=MOCK40)], metrics_port=metrics_port)
    s.wait_running(["alpha", "bravo"], timeout=60)

    # The rules under test, with every `for:` at 0 s so that a 1 s evaluation fires at once.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules/miners.rules.yml").write_text(re.sub(r"for: \w+", "for: 0s", RULES.read_text()))
    # The repository's scrape config (its relabelling included), every 2 s, on this supervisor
    # twice: once with a `host` label, once named after its address.
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(tmp_path / "rules/miners.rules.yml")]
    config.pop("alerting")
    config["scrape_configs"][0]["static_configs"] = [
        {"targets": [f"127.0.0.1:{metrics_port}"], "labels": {"host": "gpu-test"}},
        {"targets": [f"localhost:{metrics_port}"]},
    ]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = promtool("check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr

    log = open(tmp_path / "prometheus.log", "w")
    prometheus = subprocess.Popen(
        [tool("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{web_port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{web_port}/api/v1"

    def query(expr):
        return http_json(f"{api}/query?" + urllib.parse.urlencode({"query": expr}))

    def alerts(name):
        try:
            return [a for a in http_json(f"{api}/alerts")["data"]["alerts"] if a["labels"]["alertname"] == name]
        except OSError:
            return None

    try:
        def targets_up():
            try:
                active = http_json(f"{api}/targets")["data"]["activeTargets"]
            except OSError:
                return None
            return sorted(t["labels"]["host"] for t in active if t["health"] == "up") == ["gpu-test", "localhost"]
        assert wait_until(targets_up, timeout=120, interval=0.5), (tmp_path / "prometheus.log").read_text()

        # Traffic the dashboard should show: a complete answer, and a request signed for another miner (401).
        answer = asyncio.run(ask(ports[0], HOTKEYS[0], question("q"), timeout=20))
        assert answer.dendrite.status_code == 200
        messages = [question("q")]
        status, _ = asyncio.run(raw_post(ports[0], signed_headers(HOTKEYS[0], messages, sign_for=HOTKEYS[1]),
                                         synapse_body(messages)))
        assert status == 401

        # The dashboard and the rules read only what the supervisor exports (and the replication metrics).
        # (Rows reach the log within 100 ms; a rejection's counter exists from the first one.)
        names = wait_until(lambda: (n := exported_names(metrics_port)) >= {"miners_rejections_total"} and n, timeout=30, interval=0.2)
        _, _, exprs = dashboard_exprs()
        for expr in exprs + rule_exprs():
            assert metric_names(expr) <= names | REPLICATION_METRICS, (expr, sorted(names))

        # Every dashboard query runs on the real Prometheus; each (but replication's) has data
        # once the traffic is scraped: alpha's complete requests at a positive rate.
        def alpha_completes():
            rows = query('sum by (host, miner, outcome) (rate(miners_requests_total{miner="alpha", outcome="complete"}[1m]))')
            return rows["data"]["result"] and all(float(r["value"][1]) > 0 for r in rows["data"]["result"])
        assert wait_until(alpha_completes, timeout=60, interval=0.5)
        # (A series born at its first increment, as the rejections', has a rate from its second sample.)
        for expr in exprs:
            assert query(expr)["status"] == "success", expr
            if not metric_names(expr) & REPLICATION_METRICS:
                def both_hosts():
                    return {r["metric"].get("host") for r in query(expr)["data"]["result"]} == {"gpu-test", "localhost"}
                assert wait_until(both_hosts, timeout=30, interval=0.5), (expr, query(expr))
        # The recording rules, evaluated by the server, have each host's series too.
        for record in [r["record"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "record" in r]:
            hosts = {r["metric"]["host"] for r in query(record)["data"]["result"]}
            assert hosts == {"gpu-test", "localhost"}, record
        assert not alerts("MinerDown")

        # `miners stop`: MinerDown fires for alpha, on both targets, with their host labels.
        subprocess.run([MINERS_BIN, "stop", "alpha", "--config", str(s.config)], check=True, timeout=60)

        def down_hosts():
            active = alerts("MinerDown") or []
            return sorted(a["labels"]["host"] for a in active if a["state"] == "firing")
        assert wait_until(lambda: down_hosts() == ["gpu-test", "localhost"], timeout=90, interval=0.5), alerts("MinerDown")
        firing = alerts("MinerDown")
        assert {a["labels"]["miner"] for a in firing} == {"alpha"}
        assert all(a["labels"]["severity"] == "critical" and a["annotations"]["summary"] ==
                   f"Miner alpha on {a['labels']['host']} is not running" for a in firing)

        # `miners start`: it resolves.
        subprocess.run([MINERS_BIN, "start", "alpha", "--config", str(s.config)], check=True, timeout=60)
        assert wait_until(lambda: alerts("MinerDown") == [], timeout=90, interval=0.5), alerts("MinerDown")
    finally:
        prometheus.terminate()
        try:
            prometheus.wait(timeout=30)
        except subprocess.TimeoutExpired:
            prometheus.kill()
            prometheus.wait()
        log.close()
