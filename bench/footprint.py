"""Memory per miner: N Swift workers under one supervisor against N Python reference miners.

    .venv/bin/python bench/footprint.py [--counts 4,16] [--idle 60] [--requests 100]
        [--concurrency 10] [--words 20] [--batch-size 4] [--burst 0]
        [--swift LABEL=BINARY[,ENV=VALUE...]]... [--no-python] [--breakdown] [--markdown FILE]

For each N: one `miners supervise` with N mock miners (request log on, as operators run them),
then N `bench/python_reference_miner.py` processes (the subnet guide's template on a real
bittensor 10.5.0 axon). Every miner gets the same load from the real Python dendrite (one
dendrite per slot, validator //Dave): `--requests` requests at `--concurrency`, a `--words`-word
mock answer in batches of `--batch-size`; all must come back exact. Then each miner's
proportional set size (PSS, `/proc/PID/smaps_rollup`: shared pages divided among the processes
mapping them) is read after the load and again after `--idle` seconds, and the mean per miner is
printed with its anonymous (heap, stacks) and file-backed (code, read-only data) parts. The
supervisor's own PSS is printed apart. `--burst N` adds N requests per miner from `miners simulate`
at concurrency 50 after the dendrite's (a new dendrite uuid per request, as a fleet of
validators' retries would: the heap's high-water mark after a burst). "per extra miner" is what N − 4 more miners added to the
group's total (supervisor included), divided by N − 4.

`--swift` compares builds or environments in one run (e.g. `--swift base=.build/release/miners
--swift arena1=.build/release/miners,MALLOC_ARENA_MAX=1`). `--breakdown` also prints one loaded
worker's PSS by mapping (the binary, each library, heap, thread stacks, other anonymous memory).
Loopback only; every load and wait is bounded. Not part of the test run.
"""
import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "Tests" / "interop"))
import bittensor as bt  # noqa: E402
from interop_support import free_port  # noqa: E402
from versus_python import Miner, cpu_model, dendrite_load, table_markdown, table_text  # noqa: E402

KIB = 1024


def smaps_rollup(pid):
    """Pss, Pss_Anon, Pss_File, Rss... of a process in KiB (smaps_rollup sums every mapping)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[key] = int(parts[0])
    return values


def breakdown(pid):
    """PSS and private dirty KiB of a process by mapping: each file by name, the heap, the
    stacks, and other anonymous memory (malloc's arenas among it); a thread's stack is an
    anonymous mapping of exactly 8 MiB, told apart by its size."""
    groups = {}
    name, size = None, 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and ":" not in fields[0]:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            size = end - start
            name = fields[5] if len(fields) > 5 else "[anon]"
            if name == "[anon]" and size == 8 * 1024 * 1024:
                name = "[anon: thread stack]"
            groups.setdefault(name, {"pss": 0, "private_dirty": 0})
        elif fields[0] == "Pss:":
            groups[name]["pss"] += int(fields[1])
        elif fields[0] == "Private_Dirty:":
            groups[name]["private_dirty"] += int(fields[1])
    return sorted(groups.items(), key=lambda item: -item[1]["pss"])


def mib(kib):
    return kib / KIB


def words_text(count):
    return " ".join(f"word{i}" for i in range(count))


def load_all(ports_hotkeys, text, requests, concurrency, burst, binary):
    """The same dendrite load on every miner in turn (every answer exact), then the burst."""
    for port, hotkey in ports_hotkeys:
        result = asyncio.run(dendrite_load(port, text, requests, concurrency, hotkey=hotkey))
        if result["ok"] != requests:
            raise RuntimeError(f"miner on port {port}: {result['ok']}/{requests} exact answers ({result['statuses']})")
        if burst:
            out = subprocess.run([binary, "simulate", "--port", str(port), "--hotkey", hotkey, "--requests", str(burst),
                                  "--concurrency", "50", "--max-duration", "120", "--json"],
                                 capture_output=True, text=True, timeout=180)
            statuses = json.loads(out.stdout).get("statuses", {}) if out.returncode == 0 else {}
            if statuses.get("200") != burst:
                raise RuntimeError(f"miner on port {port}: burst answered {statuses} ({out.stderr.strip()[-300:]})")


def status(binary, config):
    out = subprocess.run([binary, "status", "--config", str(config), "--json"], capture_output=True, text=True,
                         timeout=60)
    data = json.loads(out.stdout) if out.returncode == 0 else {}
    return [row["miner"] for row in data.get("miners", [])] if data.get("supervisor") else []


class SwiftGroup:
    """`miners supervise` with `count` mock miners; the workers' pids from `miners status`."""

    def __init__(self, binary, env, count, workdir, text, batch_size):
        self.binary = binary
        self.config = Path(workdir) / "footprint.yaml"
        self.miners = [(bt.Keypair.create_from_uri(f"//Miner{i}").ss58_address, free_port()) for i in range(count)]
        lines = [f"database: {workdir}/footprint.sqlite", "supervisor: {grace_period: 5}",
                 f"defaults: {{streaming_batch_size: {batch_size}, backend: {{kind: mock, text: {json.dumps(text)}}}}}",
                 "miners:"]
        lines += [f"  - {{name: m{i:02d}, hotkey: {hotkey}, port: {port}}}" for i, (hotkey, port) in enumerate(self.miners)]
        self.config.write_text("\n".join(lines) + "\n")
        self.log = open(Path(workdir) / "supervisor.out", "w")
        self.supervisor = subprocess.Popen([binary, "supervise", str(self.config)], stdout=self.log,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **env})
        deadline = time.monotonic() + 120
        while True:
            rows = status(binary, self.config)
            if len(rows) == count and all(row["state"] == "running" and row.get("pid") for row in rows):
                self.worker_pids = [row["pid"] for row in rows]
                return
            if time.monotonic() > deadline or self.supervisor.poll() is not None:
                self.stop()
                raise RuntimeError(f"{count} workers did not start within 120 s (see {self.log.name})")
            time.sleep(0.2)

    def stop(self):
        if self.supervisor.poll() is None:
            self.supervisor.terminate()
            try:
                self.supervisor.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.supervisor.kill()
                self.supervisor.wait()
        self.log.close()


class PythonGroup:
    def __init__(self, count, workdir, text, batch_size):
        self.processes = []
        self.miners = []
        try:
            for i in range(count):
                uri = f"//Miner{i}"
                miner = Miner(f"python-{i:02d}", [sys.executable, str(ROOT / "bench" / "python_reference_miner.py"),
                                                  "--port", "0", "--text", text, "--batch-size", str(batch_size),
                                                  "--hotkey-uri", uri], workdir)
                self.processes.append(miner)
                self.miners.append((bt.Keypair.create_from_uri(uri).ss58_address, miner.port))
        except BaseException:
            self.stop()
            raise
        self.worker_pids = [miner.pid for miner in self.processes]

    def stop(self):
        for miner in self.processes:
            miner.stop()


def summary(pids):
    rollups = [smaps_rollup(pid) for pid in pids]
    mean = lambda key: statistics.mean(r.get(key, 0) for r in rollups)  # noqa: E731
    return {"pss": mean("Pss"), "anon": mean("Pss_Anon"), "file": mean("Pss_File"), "rss": mean("Rss"),
            "total": sum(r.get("Pss", 0) for r in rollups)}


def run_group(label, start, count, args, text, breakdowns):
    progress(f"{label}, N={count}: starting")
    with tempfile.TemporaryDirectory() as workdir:
        group = start(workdir)
        try:
            progress(f"{label}, N={count}: loading ({args.requests} requests at c={args.concurrency} per miner)")
            load_all([(port, hotkey) for hotkey, port in group.miners], text, args.requests, args.concurrency, args.burst,
                     args.simulator)
            loaded = summary(group.worker_pids)
            supervisor = smaps_rollup(group.supervisor.pid) if hasattr(group, "supervisor") else None
            if args.breakdown and count == min(args.counts):
                breakdowns[label] = breakdown(group.worker_pids[0])
            progress(f"{label}, N={count}: idle for {args.idle} s")
            time.sleep(args.idle)
            idle = summary(group.worker_pids)
            if supervisor is not None:
                loaded["total"] += supervisor.get("Pss", 0)
                idle["total"] += smaps_rollup(group.supervisor.pid).get("Pss", 0)
        finally:
            group.stop()
    return {"label": label, "count": count, "loaded": loaded, "idle": idle,
            "supervisor": supervisor.get("Pss") if supervisor else None}


def progress(message):
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def parse_swift(spec):
    label, _, rest = spec.partition("=")
    binary, *pairs = rest.split(",")
    env = dict(pair.split("=", 1) for pair in pairs)
    if not label or not binary:
        raise argparse.ArgumentTypeError(f"--swift {spec}: give LABEL=BINARY[,ENV=VALUE...]")
    return label, binary, env


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], default=[4, 16])
    parser.add_argument("--idle", type=float, default=60.0, help="seconds idle before the second reading")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--swift", type=parse_swift, action="append",
                        help="LABEL=BINARY[,ENV=VALUE...] (repeatable; default swift=.build/release/miners)")
    parser.add_argument("--burst", type=int, default=0, help="requests per miner from miners simulate after the load")
    parser.add_argument("--no-python", action="store_true")
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    if not 1 <= args.requests <= 10_000 or not 1 <= args.concurrency <= 100 or not 0 <= args.idle <= 600:
        parser.error("--requests 1...10000, --concurrency 1...100, --idle 0...600")
    if not 0 <= args.burst <= 20_000:
        parser.error("--burst 0...20000")
    if any(not 1 <= n <= 20 for n in args.counts):
        parser.error("--counts: 1...20 miners (20 dev hotkeys)")
    swifts = args.swift or [("swift", str(ROOT / ".build/release/miners"), {})]
    args.simulator = swifts[-1][1]  # the load generator for --burst (the last binary given)
    text = words_text(args.words)

    results, breakdowns = [], {}
    started = datetime.now(timezone.utc)
    for count in args.counts:
        for label, binary, env in swifts:
            results.append(run_group(label, lambda d, b=binary, e=env, n=count: SwiftGroup(b, e, n, d, text, args.batch_size),
                                     count, args, text, breakdowns))
        if not args.no_python:
            results.append(run_group("python", lambda d, n=count: PythonGroup(n, d, text, args.batch_size),
                                     count, args, text, breakdowns))
    render(args, swifts, results, breakdowns, started)


def render(args, swifts, results, breakdowns, started):
    header = ["N", "miner", "PSS after load MiB", "anon / file", f"PSS after {args.idle:g} s idle MiB", "anon / file",
              "RSS after load MiB", "vs python (load)"]
    python = {r["count"]: r for r in results if r["label"] == "python"}
    rows = []
    for r in results:
        ratio = python.get(r["count"])
        rows.append([str(r["count"]), r["label"], f"{mib(r['loaded']['pss']):.1f}",
                     f"{mib(r['loaded']['anon']):.1f} / {mib(r['loaded']['file']):.1f}", f"{mib(r['idle']['pss']):.1f}",
                     f"{mib(r['idle']['anon']):.1f} / {mib(r['idle']['file']):.1f}", f"{mib(r['loaded']['rss']):.1f}",
                     "-" if r["label"] == "python" or not ratio else f"{ratio['loaded']['pss'] / r['loaded']['pss']:.1f}×"])
    extra = []
    counts = sorted(set(r["count"] for r in results))
    if len(counts) >= 2:
        low, high = counts[0], counts[-1]
        for label in [s[0] for s in swifts] + ([] if args.no_python else ["python"]):
            a = next(r for r in results if r["label"] == label and r["count"] == low)
            b = next(r for r in results if r["label"] == label and r["count"] == high)
            extra.append([label, f"{mib((b['loaded']['total'] - a['loaded']['total']) / (high - low)):.1f}",
                          f"{mib((b['idle']['total'] - a['idle']['total']) / (high - low)):.1f}"])
    supervisors = [f"{r['label']} N={r['count']}: {mib(r['supervisor']):.1f} MiB" for r in results if r["supervisor"]]
    lines = [f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}",
             f"Load per miner: {args.requests} requests at concurrency {args.concurrency} (real dendrite), "
             f"{args.words} words in batches of {args.batch_size}, all exact"
             + (f"; then {args.burst} requests at concurrency 50 from `miners simulate`." if args.burst else "."), ""]
    table = table_markdown if args.markdown else table_text
    lines += table(header, rows)
    if extra:
        lines += ["", f"Per extra miner (group total from N={counts[0]} to N={counts[-1]}, supervisor included):", ""]
        lines += table(["miner", "after load MiB", "after idle MiB"], extra)
    lines += ["", "Supervisor PSS after the load: " + "; ".join(supervisors)]
    for label, groups in breakdowns.items():
        lines += ["", f"One loaded {label} miner by mapping (N={min(args.counts)}), KiB:", ""]
        lines += table(["mapping", "PSS KiB", "private dirty KiB"],
                       [[name, str(v["pss"]), str(v["private_dirty"])] for name, v in groups[:25]])
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
