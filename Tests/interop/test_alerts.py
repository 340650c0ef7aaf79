"""`alerts:` (issue #18): webhooks told of what costs rewards, against a local webhook server
that records every POST — `miners alerts test` in all four formats, and a supervisor whose
alerts fire once, are retried through failures, and resolve."""
import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from interop_support import HOTKEYS, MINERS_BIN, ask, free_port, question, wait_until
from test_supervisor import MOCK40, miner, supervisor  # noqa: F401 (a fixture)

KINDS = ["crash_loop", "service_unhealthy", "deregistered", "no_requests", "log_rows_lost", "serve_failed", "disk_full"]
SECRETS = ["discord-secret-d1", "slack-secret-s1", "json-secret-j1", "123456:tg_secret-t1"]


class Webhooks:
    """A local webhook server: records each POST (path, JSON body, time); `fail[path] = n`
    answers the first n POSTs to that path with 500; paths under /slow/ answer after 30 s."""

    def __init__(self):
        self.posts, self.fail, self.lock = [], {}, threading.Lock()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hooks.lock:
                    hooks.posts.append({"path": self.path, "body": json.loads(body), "at": time.time(),
                                        "type": self.headers.get("Content-Type")})
                    failing = hooks.fail.get(self.path, 0)
                    if failing:
                        hooks.fail[self.path] = failing - 1
                if self.path.startswith("/slow/"):
                    time.sleep(30)
                if self.path.startswith("/redirect/"):  # to a path that would take it
                    self.send_response(307)
                    self.send_header("Location", hooks.url + "/json/redirected")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/endless/"):  # a 200 whose body never ends
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                    time.sleep(30)
                    return
                status = 500 if failing else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path):
        with self.lock:
            return [p["body"] for p in self.posts if p["path"] == path]

    def close(self):
        self.server.shutdown()


@pytest.fixture
def webhooks():
    hooks = Webhooks()
    yield hooks
    hooks.close()


def write_env_file(path, variables):
    path.write_text("".join(f"{k}={v}\n" for k, v in variables.items()))
    path.chmod(0o600)


def test_alerts_test_sends_one_of_each_kind_in_all_four_formats(webhooks, tmp_path):
    env_file = tmp_path / "secrets.env"
    write_env_file(env_file, {"DISCORD_URL": f"{webhooks.url}/discord/{SECRETS[0]}",
                              "TG_TOKEN": SECRETS[3]})
    config = tmp_path / "miners.yaml"
    config.write_text(f"""database: {tmp_path}/log.sqlite
alerts:
  env_file: {env_file}
  webhooks:
    - {{kind: discord, url_env: DISCORD_URL}}
    - {{kind: slack, url_env: SLACK_URL}}
    - {{kind: telegram, token_env: TG_TOKEN, chat_id: "-100123", api_url: "{webhooks.url}/tg"}}
    - {{kind: json, url_env: JSON_URL}}
miners:
  - {miner(0, "a", free_port(), backend="{kind: mock}")}
""")
    env = dict(os.environ, SLACK_URL=f"{webhooks.url}/slack/{SECRETS[1]}", JSON_URL=f"{webhooks.url}/json/{SECRETS[2]}")
    out = subprocess.run([MINERS_BIN, "alerts", "test", "--config", str(config)], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines == [
        "webhook 1, discord (DISCORD_URL): 7 of 7 delivered (HTTP 200)",
        "webhook 2, slack (SLACK_URL): 7 of 7 delivered (HTTP 200)",
        "webhook 3, telegram (TG_TOKEN): 7 of 7 delivered (HTTP 200)",
        "webhook 4, json (JSON_URL): 7 of 7 delivered (HTTP 200)",
    ]
    assert not any(secret in out.stdout + out.stderr for secret in SECRETS)

    discord = webhooks.bodies(f"/discord/{SECRETS[0]}")
    slack = webhooks.bodies(f"/slack/{SECRETS[1]}")
    telegram = webhooks.bodies(f"/tg/bot{SECRETS[3]}/sendMessage")
    plain = webhooks.bodies(f"/json/{SECRETS[2]}")
    assert [list(b) for b in discord] == [["content"]] * 7
    assert [list(b) for b in slack] == [["text"]] * 7
    assert [sorted(b) for b in telegram] == [["chat_id", "text"]] * 7 and {b["chat_id"] for b in telegram} == {"-100123"}
    assert all(p["type"] == "application/json" for p in webhooks.posts)
    # Each kind once, in order, the same text in every format.
    assert [b["alert"] for b in plain] == KINDS
    for b in plain:
        assert sorted(b) == ["alert", "at", "host", "message", "state", "subject"]
        assert b["state"] == "firing" and isinstance(b["at"], int) and abs(b["at"] - time.time()) < 120
        assert b["message"].startswith("[TEST] [FIRING] ") and b["host"] in b["message"]
    assert [b["content"] for b in discord] == [b["text"] for b in slack] == [b["text"] for b in telegram] == [b["message"] for b in plain]
    assert "disk nearly full: file system of '/var/lib/miners'" in plain[-1]["message"]


def test_alerts_test_reports_a_failing_webhook_without_its_url(webhooks, tmp_path):
    dead = free_port()
    config = tmp_path / "miners.yaml"
    config.write_text(f"""database: {tmp_path}/log.sqlite
alerts: {{webhooks: [{{kind: json, url_env: GOOD}}, {{kind: discord, url_env: DEAD}}]}}
miners: [{miner(0, "a", free_port(), backend="{kind: mock}")}]
""")
    env = dict(os.environ, GOOD=f"{webhooks.url}/json/{SECRETS[2]}", DEAD=f"http://127.0.0.1:{dead}/x/{SECRETS[0]}")
    started = time.monotonic()
    out = subprocess.run([MINERS_BIN, "alerts", "test", "--config", str(config)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "webhook 1, json (GOOD): 7 of 7 delivered (HTTP 200)"
    assert lines[1] == "webhook 2, discord (DEAD): 0 of 7 delivered; failed: connection refused (the other 6 not sent)", lines
    assert not any(secret in out.stdout + out.stderr for secret in SECRETS)
    # The first message's 3 tries, 1 s and 2 s apart, then no more.
    assert 2.5 < time.monotonic() - started < 30


def test_a_redirect_is_not_followed_and_an_endless_body_is_delivered_once(webhooks, tmp_path):
    config = tmp_path / "miners.yaml"
    config.write_text(f"""database: {tmp_path}/log.sqlite
alerts:
  webhooks:
    - {{kind: json, url_env: ENDLESS_URL}}
    - {{kind: json, url_env: MOVED_URL}}
miners:
  - {miner(0, "a", free_port(), backend="{kind: mock}")}
""")
    env = dict(os.environ, ENDLESS_URL=f"{webhooks.url}/endless/x", MOVED_URL=f"{webhooks.url}/redirect/y")
    started = time.monotonic()
    out = subprocess.run([MINERS_BIN, "alerts", "test", "--config", str(config)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 1 and time.monotonic() - started < 60, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "webhook 1, json (ENDLESS_URL): 7 of 7 delivered (HTTP 200)", lines
    assert lines[1].startswith("webhook 2, json (MOVED_URL): ") and "HTTP 307" in lines[1], lines
    assert len(webhooks.bodies("/endless/x")) == 7  # each once: the status was the answer
    assert len(webhooks.bodies("/redirect/y")) == 1  # not tried again
    assert webhooks.bodies("/json/redirected") == []  # and not followed


def test_config_errors_name_the_variable_never_its_value(tmp_path):
    config = tmp_path / "miners.yaml"
    base = f"database: {tmp_path}/log.sqlite\nminers: [{miner(0, 'a', free_port(), backend='{kind: mock}')}]\n"

    def check(alerts, **env):
        config.write_text(base + alerts)
        out = subprocess.run([MINERS_BIN, "check", str(config)], capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, **env))
        return out.returncode, out.stdout + out.stderr

    code, text = check("alerts:\n  webhooks:\n    - {kind: slack, url_env: NOT_SET_ANYWHERE}\n")
    assert code == 1 and f"{config}:5: field 'alerts.webhooks[0].url_env': NOT_SET_ANYWHERE is not set" in text, text
    code, text = check("alerts:\n  webhooks:\n    - {kind: slack, url_env: BAD_URL}\n", BAD_URL="ftp://host/slack-secret-s1")
    assert code == 1 and "the value of BAD_URL is not an http:// or https:// URL" in text and "slack-secret" not in text, text
    code, text = check("alerts:\n  webhooks:\n    - {kind: slack, url: 'https://hooks.slack.com/slack-secret-s1'}\n")
    assert code == 1 and "field 'alerts.webhooks[0].url': a webhook's URL holds its secret" in text and "slack-secret" not in text, text
    code, text = check("alerts:\n  webhooks:\n    - {kind: slack, url_env: FINE}\n", FINE="https://hooks.example/slack-secret-s1")
    assert code == 0 and text.strip().endswith(", alerts to slack (FINE)") and "slack-secret" not in text, text


def test_a_supervisor_alerts_once_retries_and_resolves(supervisor, webhooks, monkeypatch, tmp_path):
    """Crash loop: once (dedup), resolved by `miners start`; the JSON webhook's first two answers
    are 500s and its first message arrives all the same; no_requests fires for an idle miner and
    resolves after a request; disk_full fires at a threshold no disk passes. A webhook that
    hangs and one that refuses hold up neither the other webhooks nor the supervisor."""
    json_path = f"/json/{SECRETS[2]}"
    webhooks.fail[json_path] = 2
    monkeypatch.setenv("ALERT_URL", webhooks.url + json_path)
    monkeypatch.setenv("SLOW_URL", f"{webhooks.url}/slow/{SECRETS[1]}")
    monkeypatch.setenv("DEAD_URL", f"http://127.0.0.1:{free_port()}/{SECRETS[0]}")
    alerts = ("alerts: {check_every: 1s, no_requests: 6s, disk_free: 99.99%, repeat: off, webhooks: "
              "[{kind: json, url_env: ALERT_URL}, {kind: slack, url_env: SLOW_URL}, {kind: discord, url_env: DEAD_URL}]}")
    ports = [free_port(), free_port()]
    s = supervisor([miner(0, "a", ports[0], backend=MOCK40,
                          restart="{backoff_initial: 0.2, max_restarts: 1, window: 60, crash_loop_cooldown: 600}"),
                    miner(1, "b", ports[1], backend=MOCK40)], extra=alerts)

    def received(kind, state="firing", subject=None):
        return [b for b in webhooks.bodies(json_path)
                if b["alert"] == kind and b["state"] == state and (subject is None or b["subject"] == subject)]

    first = s.wait_running(["a", "b"])["a"]
    # Disk: the first message, through two 500s (tries 1 s and 2 s apart).
    assert wait_until(lambda: len(received("disk_full")) >= 3, timeout=30), webhooks.posts
    time.sleep(1)
    attempts = [p for p in webhooks.posts if p["path"] == json_path]
    assert [p["body"]["alert"] for p in attempts[:3]] == ["disk_full"] * 3
    assert attempts[2]["at"] - attempts[0]["at"] >= 2.5
    assert len(received("disk_full")) == 3  # the two refused, the one taken: and no more

    # Crash loop: two kills within the window.
    os.kill(first["pid"], signal.SIGKILL)
    second = s.wait_running(["a"], timeout=15, not_pid=first["pid"])["a"]
    os.kill(second["pid"], signal.SIGKILL)
    assert wait_until(lambda: received("crash_loop", subject="a"), timeout=20), webhooks.posts
    assert wait_until(lambda: s.miners().get("a", {}).get("state") == "crash-looping", timeout=5)

    # Idle b: no request for 6 s. Then one request resolves it.
    assert wait_until(lambda: received("no_requests", subject="b"), timeout=30), webhooks.posts
    time.sleep(3)  # several checks more: still one message each
    assert len(received("crash_loop", subject="a")) == 1 and len(received("no_requests", subject="b")) == 1
    final = asyncio.run(ask(ports[1], HOTKEYS[1], question("2+2"), timeout=10))
    assert final.dendrite.status_code == 200
    assert wait_until(lambda: received("no_requests", "resolved", "b"), timeout=20), webhooks.posts

    # `miners start` ends the crash loop: resolved.
    started = time.monotonic()
    out = subprocess.run([MINERS_BIN, "start", "a", "--config", str(s.config)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and time.monotonic() - started < 10, out.stderr
    s.wait_running(["a"], timeout=20)
    resolved = wait_until(lambda: received("crash_loop", "resolved", "a"), timeout=20)
    assert resolved and resolved[0]["message"].startswith("[RESOLVED after "), webhooks.posts
    assert len(received("crash_loop", subject="a")) == 1

    # `miners status` lists what fires, from the alerts table.
    status = s.status()
    firing = {(a["kind"], a["subject"]) for a in status["alertsFiring"]}
    assert ("disk_full", str(tmp_path)) in firing and ("crash_loop", "a") not in firing and ("no_requests", "b") not in firing
    assert "alerts firing (as last posted to the webhooks of alerts:):" in s.status_text()

    # The hanging webhook got its first message and waits on it; the dead one is logged, never its URL.
    assert webhooks.bodies(f"/slow/{SECRETS[1]}")
    s.stop()
    log = (tmp_path / "supervisor.log").read_text() + (tmp_path / "logs" / "supervisor.log").read_text()
    assert "alerts: webhook discord (DEAD_URL) did not take" in log and "connection refused" in log
    assert "alert: [FIRING] crash-looping: miner 'a'" in log and "alert: [RESOLVED after " in log  # each alert a log line
    assert not any(secret in log for secret in SECRETS)

    # A new supervisor takes up what fires: the full disk is not posted again.
    posted = len(received("disk_full"))
    again = supervisor([miner(0, "a", ports[0], backend=MOCK40), miner(1, "b", ports[1], backend=MOCK40)], extra=alerts)
    again.wait_running(["a", "b"])
    time.sleep(4)
    assert len(received("disk_full")) == posted
