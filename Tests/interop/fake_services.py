"""Small servers for `services:` tests, run by the supervisor as `python3 fake_services.py ...`
(this file is both the helper module, for the paths, and the program).

    fake_services.py --port P [--models a,b] [--sleep-before-bind S] [--env-out FILE]
                     [--grow-mb N] [--health-status CODE] [--health-body TEXT] [--redirect URL]
                     [--pids-out FILE] [--ignore-term]

It answers GET /health (200, or --health-status), GET /v1/models (an OpenAI model list of
--models) and GET /env (its environment as JSON); with --env-out it writes its environment as
JSON to FILE at start (before sleeping), and with --grow-mb it allocates N MB more every 0.5 s
(at most --grow-max-mb, 600 by default) so that its resident memory grows."""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SCRIPT = str(Path(__file__).resolve())
PYTHON = sys.executable


def command_argv(port, *options):
    """The service's `command:`: this script with these options."""
    return [PYTHON, SCRIPT, "--port", str(port), *map(str, options)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--models", default="")
    parser.add_argument("--sleep-before-bind", type=float, default=0)
    parser.add_argument("--env-out")
    parser.add_argument("--grow-mb", type=int, default=0)
    parser.add_argument("--grow-max-mb", type=int, default=600)
    parser.add_argument("--health-status", type=int, default=200)
    parser.add_argument("--redirect", help="answer /health with 302 to this URL")
    parser.add_argument("--pids-out", help="start a child and a detached daemon (setsid, double fork), write their pids here")
    parser.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM")
    parser.add_argument("--health-body", help="the body of /health's answer, as is")
    args = parser.parse_args()

    if args.env_out:
        tmp = args.env_out + f".{os.getpid()}.tmp"
        Path(tmp).write_text(json.dumps(dict(os.environ)))
        os.replace(tmp, args.env_out)
    time.sleep(args.sleep_before_bind)
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.pids_out:
        child = subprocess.Popen(["sleep", "3600"])
        read, write = os.pipe()
        if os.fork() == 0:
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                os.execvp("sleep", ["sleep", "3601"])
            os.write(write, str(daemon).encode())
            os._exit(0)
        os.close(write)
        daemon = int(os.read(read, 32))
        os.wait()
        tmp = args.pids_out + ".tmp"
        Path(tmp).write_text(json.dumps({"child": child.pid, "daemon": daemon}))
        os.replace(tmp, args.pids_out)

    models = [m for m in args.models.split(",") if m]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health" and args.redirect:
                self.send_response(302)
                self.send_header("Location", args.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/health" and args.health_body is not None:
                data = args.health_body.encode()
                self.send_response(args.health_status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif self.path == "/health":
                self.answer(args.health_status, {"status": "ok" if args.health_status == 200 else "bad"})
            elif self.path == "/v1/models":
                self.answer(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "me"} for m in models]})
            elif self.path == "/env":
                self.answer(200, dict(os.environ))
            else:
                self.answer(404, {"error": "not found"})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.grow_mb:
        def grow():
            hoard = []
            for _ in range(args.grow_max_mb // args.grow_mb):
                hoard.append(bytearray(os.urandom(1)) * (args.grow_mb << 20))  # touched: resident
                time.sleep(0.5)
            while True:
                time.sleep(1)
        threading.Thread(target=grow, daemon=True).start()
    print(f"fake service on {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
