"""The Swift worker against the Python reference miner, on this machine, in one run.

    .venv/bin/python bench/versus_python.py [--bin .build/release/miners] [--requests 600]
        [--sim-requests 2000] [--delays 0,5] [--concurrency 1,10,50] [--batch-size 4] [--words 40]
        [--markdown FILE]

Both miners serve StreameinsteinSynapse from the same deterministic mock (a 40-word text as word
items, `delay_ms` before each item, `batch-size` items per chunk) and both verify the sr25519
signature and nonce of every request. They run one at a time, on loopback:
- python: bench/python_reference_miner.py, the subnet guide's template `_forward` on a real
  bittensor 10.5.0 axon;
- swift: `miners worker` (request log on), then swift-nolog: `miners worker --no-request-log`,
  for the logging cost.
For each per-item delay and concurrency it measures, driven by the real Python dendrite (one
dendrite per concurrent slot, validator //Dave): requests/s, latency p50/p99 (request start to
final synapse), time to first chunk p50/p99, exact completions (200 and completion == text), the
miner's CPU time per request (utime+stime of the whole miner process from /proc; one clock tick
is 10 ms, so cells are sized to hold tens of ticks) and its RSS (VmRSS, VmHWM) after the load.
The Python dendrite costs more CPU per request than either miner, so its requests/s are
client-bound; `miners simulate` (the Swift load generator) measures throughput too when the
binary has it. Goals are evaluated at the highest concurrency (throughput and logging cost at
the smallest delay). Request counts are bounded (cell_requests) and so is each simulator run, so
the whole run stays within a few minutes. Not part of the test run.
"""
import argparse
import asyncio
import json
import os
import platform
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
# Tests/interop/synapse.py redeclares a base field on purpose (as the subnet does); pydantic warns.
warnings.filterwarnings("ignore", message='Field name "required_hash_fields"')
sys.path.insert(0, str(ROOT / "Tests" / "interop"))
import bittensor as bt  # noqa: E402
import bittensor.utils.networking as networking  # noqa: E402
from synapse import StreameinsteinSynapse  # noqa: E402

networking.get_external_ip = lambda: "127.0.0.1"  # the dendrite stays on loopback
MINER_URI = "//Alice"
MINER_HOTKEY = bt.Keypair.create_from_uri(MINER_URI).ss58_address
VALIDATOR = bt.Keypair.create_from_uri("//Dave")
TIMEOUT = 10.0


# ---------------------------------------------------------------------------------------------
# /proc readings of the miner process (all its threads)

def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid):
    """(VmRSS, VmHWM) in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


# ---------------------------------------------------------------------------------------------
# Miner processes

class Miner:
    """A miner process that prints `listening on 127.0.0.1:PORT` on stdout when ready."""

    def __init__(self, label, command, workdir):
        self.label = label
        self.stderr_path = Path(workdir) / f"{label}.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                        stdin=subprocess.DEVNULL)
        # Drain stdout on a thread: a full pipe would block the miner, and readline has no timeout.
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"{label}: no 'listening on' line within 60 s (see {self.stderr_path})")
            if line.startswith("listening on"):
                self.port = int(line.strip().rsplit(":", 1)[1])
                break

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def error_lines(self):
        """Lines of the miner's stderr that report errors (the Python axon logs its own)."""
        text = self.stderr_path.read_text(errors="replace")
        return [line for line in text.splitlines()
                if any(word in line for word in ("Error", "ERROR", "Traceback", "Exception"))]


def start_python(workdir, text, delay_ms, batch_size):
    return Miner(f"python-d{delay_ms}", [sys.executable, str(ROOT / "bench" / "python_reference_miner.py"),
                                         "--port", "0", "--text", text, "--delay-ms", str(delay_ms),
                                         "--batch-size", str(batch_size), "--hotkey-uri", MINER_URI], workdir)


def start_swift(binary, workdir, text, delay_ms, batch_size, request_log):
    label = f"swift-{'log' if request_log else 'nolog'}-d{delay_ms}"
    config = Path(workdir) / f"{label}.yaml"
    # json.dumps gives a valid YAML double-quoted scalar for any text.
    config.write_text(f"miners:\n  - {{name: bench, hotkey: {MINER_HOTKEY}, port: 1,\n"
                      f"      streaming_batch_size: {batch_size},\n"
                      f"      backend: {{kind: mock, text: {json.dumps(text)}, delay_ms: {delay_ms}}}}}\n")
    command = [binary, "worker", "--config", str(config), "--miner", "bench", "--port", "0",
               "--db", str(Path(workdir) / f"{label}.sqlite"), "--log-level", "warning"]
    if not request_log:
        command.append("--no-request-log")
    return Miner(label, command, workdir)


# ---------------------------------------------------------------------------------------------
# Load through the real dendrite

def percentile(values, p):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


async def dendrite_load(port, text, requests, concurrency, hotkey=MINER_HOTKEY):
    """`requests` streamed requests, `concurrency` at a time. One dendrite per slot: the axon
    tracks nonces per (validator hotkey, dendrite uuid) and requires them to increase, which
    concurrent requests of one dendrite do not guarantee (they would be refused with 401)."""
    axon = bt.AxonInfo(version=0, ip="127.0.0.1", port=port, ip_type=4, hotkey=hotkey, coldkey=hotkey)
    dendrites = [bt.Dendrite(wallet=VALIDATOR) for _ in range(concurrency)]
    remaining = iter(range(requests))
    latencies, first_chunks, statuses = [], [], {}
    ok = 0

    async def slot(dendrite):
        nonlocal ok
        for i in remaining:  # the shared iterator hands out each request index once
            synapse = StreameinsteinSynapse(roles=["user"], messages=[urlencode({"question_text": f"q{i}"})])
            started = time.perf_counter()
            first = None
            final = None
            responses = await dendrite.forward(axons=[axon], synapse=synapse, timeout=TIMEOUT, streaming=True,
                                               deserialize=False)
            async for item in responses[0]:
                if isinstance(item, bt.Synapse):
                    final = item
                elif first is None:
                    first = time.perf_counter() - started
            elapsed = time.perf_counter() - started
            status = final.dendrite.status_code if final is not None else None
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200 and final.completion == text:
                ok += 1
                latencies.append(elapsed)
                if first is not None:
                    first_chunks.append(first)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(slot(d) for d in dendrites))
    finally:
        wall = time.perf_counter() - started
        for dendrite in dendrites:
            await dendrite.aclose_session()
    return {"requests": requests, "ok": ok, "statuses": statuses, "rps": requests / wall, "ok_rps": ok / wall,
            "latency_p50": percentile(latencies, 50), "latency_p99": percentile(latencies, 99),
            "first_p50": percentile(first_chunks, 50), "first_p99": percentile(first_chunks, 99)}


def measure(miner, run):
    """Runs `run()` and adds the miner's CPU time per request and memory after it."""
    before = cpu_seconds(miner.pid)
    result = run()
    cpu = cpu_seconds(miner.pid) - before
    result["cpu_ms_per_req"] = cpu / result["requests"] * 1000 if result["requests"] else None
    result["rss_mib"], result["hwm_mib"] = memory_mib(miner.pid)
    return result


def idle_cpu_percent(miner, seconds=2.0):
    """CPU the miner burns doing nothing (the Python axon polls its server thread every 1 ms)."""
    before = cpu_seconds(miner.pid)
    time.sleep(seconds)
    return (cpu_seconds(miner.pid) - before) / seconds * 100


# ---------------------------------------------------------------------------------------------
# Load through `miners simulate`

def simulator_available(binary):
    """The simulate subcommand is new; an older binary answers `simulate --help` with the top
    help (exit 0), so look for its own usage line."""
    try:
        out = subprocess.run([binary, "simulate", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "miners simulate" in out.stdout


def simulator_load(binary, port, requests, concurrency):
    out = subprocess.run([binary, "simulate", "--port", str(port), "--hotkey", MINER_HOTKEY,
                          "--requests", str(requests), "--concurrency", str(concurrency),
                          "--timeout", str(int(TIMEOUT)), "--max-duration", "150", "--json"],
                         capture_output=True, text=True, timeout=180)  # keeps the whole run bounded
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"miners simulate failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    report = json.loads(out.stdout)
    latency, first = report.get("latency_s") or {}, report.get("first_chunk_s") or {}
    statuses = {str(k): v for k, v in (report.get("statuses") or {}).items()}
    done, ok, rps = report.get("requests", requests), statuses.get("200", 0), report.get("requests_per_s")
    # The goals compare answered requests: a miner that refuses some (e.g. 401 on a nonce) is not faster for it.
    ok_rps = rps * ok / done if rps is not None and done else None
    return {"requests": done, "ok": ok, "statuses": statuses, "rps": rps, "ok_rps": ok_rps,
            "latency_p50": latency.get("p50"),
            "latency_p99": latency.get("p99"), "first_p50": first.get("p50"), "first_p99": first.get("p99")}


# ---------------------------------------------------------------------------------------------
# The run

def cell_requests(base, delay_ms, concurrency):
    """Bounded request counts: with a per-item delay a request takes about words × delay, so
    fewer requests at low concurrency keep each cell to a few seconds."""
    if delay_ms <= 0:
        return base
    return max(40, min(base, base * concurrency // 50))


def fmt(value, scale=1.0, digits=1):
    return "-" if value is None else f"{value * scale:.{digits}f}"


def progress(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_miner(miner, args, text, delay_ms, dendrite_levels, simulator_levels):
    """Warm-up, idle CPU, then the dendrite cells and the simulator cells of one miner."""
    results = {"idle_cpu_pct": None, "dendrite": {}, "sim": {}}
    progress(f"{miner.label}: pid {miner.pid}, port {miner.port}; warm-up")
    asyncio.run(dendrite_load(miner.port, text, 20, 4))
    results["idle_cpu_pct"] = idle_cpu_percent(miner)
    for concurrency in dendrite_levels:
        n = cell_requests(args.requests, delay_ms, concurrency)
        r = measure(miner, lambda: asyncio.run(dendrite_load(miner.port, text, n, concurrency)))
        results["dendrite"][concurrency] = r
        progress(f"{miner.label}: dendrite c={concurrency} n={n}: {r['ok']}/{n} exact, {r['rps']:.0f} req/s, "
                 f"latency p50 {fmt(r['latency_p50'], 1000)} ms, CPU {fmt(r['cpu_ms_per_req'], 1, 2)} ms/req, "
                 f"RSS {r['rss_mib']:.0f} MiB, statuses {r['statuses']}")
    for concurrency in simulator_levels:
        n = cell_requests(args.sim_requests, delay_ms, concurrency)
        try:
            r = measure(miner, lambda: simulator_load(args.bin, miner.port, n, concurrency))
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
            progress(f"{miner.label}: simulate c={concurrency}: {error}")
            continue
        results["sim"][concurrency] = r
        progress(f"{miner.label}: simulate c={concurrency} n={n}: {fmt(r['rps'], 1, 0)} req/s, "
                 f"statuses {r['statuses']}, CPU {fmt(r['cpu_ms_per_req'], 1, 3)} ms/req")
    return results


def logging_cost(args, workdir, text, concurrency):
    """The logging cost from alternating rounds (log on, log off, ...) of the simulator at delay 0:
    one round is too noisy on a shared 2-core machine to resolve 5 %. Medians of each side."""
    rounds = {"on": [], "off": []}
    n = args.sim_requests * 3
    for index in range(args.logging_rounds):
        for side, request_log in (("on", True), ("off", False)):
            miner = start_swift(args.bin, workdir, text, 0, args.batch_size, request_log)
            try:
                simulator_load(args.bin, miner.port, 500, concurrency)  # warm-up
                r = measure(miner, lambda: simulator_load(args.bin, miner.port, n, concurrency))
            finally:
                miner.stop()
            rounds[side].append(r)
            progress(f"logging round {index + 1} ({side}): {fmt(r['ok_rps'], 1, 0)} req/s, "
                     f"CPU {fmt(r['cpu_ms_per_req'], 1, 3)} ms/req")

    def median(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None

    return {side: {key: median(r[key] for r in runs) for key in ("ok_rps", "cpu_ms_per_req")}
            for side, runs in rounds.items()}


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build/release/miners"))
    parser.add_argument("--requests", type=int, default=600, help="dendrite requests per cell (fewer with a delay "
                                                                  "at low concurrency)")
    parser.add_argument("--sim-requests", type=int, default=2000, help="simulator requests per cell (same scaling)")
    parser.add_argument("--delays", default="0,5", help="per-item delays in ms, comma-separated")
    parser.add_argument("--concurrency", default="1,10,50", help="comma-separated")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--words", type=int, default=40)
    parser.add_argument("--logging-rounds", type=int, default=3,
                        help="alternating log-on/log-off simulator runs whose medians give the logging cost")
    parser.add_argument("--markdown", help="also write the results as Markdown to this file")
    args = parser.parse_args()
    args.delays = [int(d) for d in args.delays.split(",")]
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    goal_concurrency = max(args.concurrency)
    text = " ".join(f"word{i}" for i in range(args.words))
    command = shlex.join(sys.orig_argv)  # the interpreter and arguments exactly as invoked
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    has_simulator = simulator_available(args.bin)
    if not has_simulator:
        progress("simulator not available (`miners simulate --help` has no usage line): throughput from the "
                 "dendrite only, logging cost from the dendrite and from CPU time")

    # results[delay][miner] = run_miner(...)
    results = {}
    errors = {}
    with tempfile.TemporaryDirectory(prefix="versus-python-") as workdir:
        for delay_ms in args.delays:
            results[delay_ms] = {}
            sim_levels = args.concurrency if has_simulator else []
            plans = [("python", lambda: start_python(workdir, text, delay_ms, args.batch_size), args.concurrency),
                     ("swift", lambda: start_swift(args.bin, workdir, text, delay_ms, args.batch_size, True),
                      args.concurrency),
                     # Log off: the simulator's throughput is what the logging cost compares; without the
                     # simulator the dendrite drives it, at the goal concurrency only.
                     ("swift-nolog", lambda: start_swift(args.bin, workdir, text, delay_ms, args.batch_size, False),
                      [] if has_simulator else [goal_concurrency])]
            for name, start, dendrite_levels in plans:
                miner = start()
                try:
                    results[delay_ms][name] = run_miner(miner, args, text, delay_ms, dendrite_levels, sim_levels)
                finally:
                    miner.stop()
                errors.setdefault(name, []).extend(miner.error_lines())

        if has_simulator and args.logging_rounds > 0:
            results["logging"] = logging_cost(args, workdir, text, goal_concurrency)

    report = render(args, results, has_simulator, goal_concurrency, errors)
    print()
    print(report["text"])
    if args.markdown:
        Path(args.markdown).write_text(f"## Swift worker vs Python reference miner\n\n"
                                       f"`{command}`\n\n{started_at}, {os.cpu_count()} CPUs ({cpu_model()}), "
                                       f"bittensor {bt.__version__}, Python {platform.python_version()}\n\n"
                                       + report["markdown"])
        progress(f"wrote {args.markdown}")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


# ---------------------------------------------------------------------------------------------
# Report

def render(args, results, has_simulator, goal_c, errors):
    """The report as plain text (stdout) and as Markdown blocks (for BENCHMARKS.md)."""
    lines, md = [], []

    def cells(kind, columns):
        rows = []
        for delay_ms, by_miner in results.items():
            for c in args.concurrency:
                for name in ("python", "swift", "swift-nolog"):
                    r = by_miner.get(name, {}).get(kind, {}).get(c)
                    if r is not None:
                        rows.append([f"{delay_ms} ms", str(c), name, *columns(r)])
        return rows

    header = ["delay", "conc", "miner", "exact", "req/s", "lat p50 ms", "lat p99 ms", "1st chunk p50 ms",
              "1st chunk p99 ms", "CPU ms/req", "RSS MiB", "HWM MiB"]
    rows = cells("dendrite", lambda r: [
        f"{r['ok']}/{r['requests']}", fmt(r["rps"], 1, 0), fmt(r["latency_p50"], 1000), fmt(r["latency_p99"], 1000),
        fmt(r["first_p50"], 1000), fmt(r["first_p99"], 1000), fmt(r["cpu_ms_per_req"], 1, 3),
        fmt(r["rss_mib"], 1, 0), fmt(r["hwm_mib"], 1, 0)])
    lines.append("Driven by the real Python dendrite (client-bound requests/s; one dendrite per concurrent slot):")
    lines += table_text(header, rows)
    md.append(f"Mock backend: {args.words} words, batch size {args.batch_size}, per-item delay as listed; signature "
              f"verification on in both miners. `python` = the subnet guide's template `_forward` on a bittensor "
              f"axon (`bench/python_reference_miner.py`); `swift` = `miners worker`; `swift-nolog` = `miners "
              f"worker --no-request-log`. CPU = utime+stime of the miner process per request; RSS/HWM = VmRSS/VmHWM "
              f"after the load.")
    md.append("### Driven by the real Python dendrite\n\n"
              "One dendrite per concurrent slot. Requests/s are bounded by the Python dendrite (the client), not "
              "by the miner; \"exact\" = status 200 and completion equal to the mock's text.")
    md.append("\n".join(table_markdown(header, rows)))

    if has_simulator:
        sim_header = ["delay", "conc", "miner", "200", "req/s", "lat p50 ms", "lat p99 ms", "1st chunk p50 ms",
                      "1st chunk p99 ms", "CPU ms/req"]
        sim_rows = cells("sim", lambda r: [
            f"{r['ok']}/{r['requests']}", fmt(r["rps"], 1, 0), fmt(r["latency_p50"], 1000),
            fmt(r["latency_p99"], 1000), fmt(r["first_p50"], 1000), fmt(r["first_p99"], 1000),
            fmt(r["cpu_ms_per_req"], 1, 3)])
        lines += ["", "Driven by `miners simulate` (throughput):", *table_text(sim_header, sim_rows)]
        md += ["### Driven by `miners simulate`", "\n".join(table_markdown(sim_header, sim_rows))]
    else:
        lines += ["", "simulator not available: no `miners simulate` figures"]
        md.append("`miners simulate` was not available: no simulator figures.")

    idle = ", ".join(f"{name} {fmt(by[name]['idle_cpu_pct'], 1, 1)} % (delay {delay_ms} ms)"
                     for delay_ms, by in results.items() for name in ("python", "swift", "swift-nolog") if name in by)
    lines += ["", f"idle CPU of the miner process after warm-up: {idle}"]
    md.append(f"Idle CPU of the miner process after warm-up: {idle}.")

    goals = goal_lines(args, results, has_simulator, goal_c)
    lines += ["", *goals]
    md += ["### Goals", "\n".join(f"- {g}" for g in goals)]

    notes = [f"{name}: {len(found)} error lines on stderr, e.g. {found[0][:200]}"
             for name, found in errors.items() if found]
    lines += notes
    md += notes
    return {"text": "\n".join(lines), "markdown": "\n\n".join(md) + "\n"}


def goal_lines(args, results, has_simulator, goal_c):
    out = []

    def verdict(passed):
        return "n/a " if passed is None else ("PASS" if passed else "FAIL")

    def get(delay_ms, name, kind, c, key):
        return results.get(delay_ms, {}).get(name, {}).get(kind, {}).get(c, {}).get(key)

    logging = results.get("logging")
    results = {k: v for k, v in results.items() if k != "logging"}
    for delay_ms in results:
        py, sw = get(delay_ms, "python", "dendrite", goal_c, "cpu_ms_per_req"), \
            get(delay_ms, "swift", "dendrite", goal_c, "cpu_ms_per_req")
        r = ratio(py, sw)
        out.append(f"{verdict(None if r is None else r >= 20)} CPU/request ≤ 1/20 of Python's (delay {delay_ms} ms, "
                   f"c={goal_c}): Swift {fmt(sw, 1, 3)} ms, Python {fmt(py, 1, 3)} ms, ratio {fmt(r, 1, 1)}×")

    delay0 = min(results)
    kind = "sim" if has_simulator else "dendrite"
    py, sw = get(delay0, "python", kind, goal_c, "ok_rps"), get(delay0, "swift", kind, goal_c, "ok_rps")
    r = ratio(sw, py)
    client = "miners simulate" if has_simulator else "the Python dendrite — client-bound, not the miners' limit"
    out.append(f"{verdict(None if r is None else r >= 10)} requests/s at c={goal_c} ≥ 10× Python's (delay {delay0} "
               f"ms, driven by {client}): Swift {fmt(sw, 1, 0)}, Python {fmt(py, 1, 0)}, ratio {fmt(r, 1, 1)}×")

    py_hwm = max((by["python"]["dendrite"][c]["hwm_mib"] for by in results.values() if "python" in by
                  for c in by["python"]["dendrite"]), default=None)
    sw_hwm = max((by["swift"]["dendrite"][c]["hwm_mib"] for by in results.values() if "swift" in by
                  for c in by["swift"]["dendrite"]), default=None)
    r = ratio(py_hwm, sw_hwm)
    out.append(f"{verdict(None if r is None else r >= 5)} RSS ≤ 1/5 of Python's (peak VmHWM over all loads): "
               f"Swift {fmt(sw_hwm, 1, 1)} MiB, Python {fmt(py_hwm, 1, 1)} MiB, ratio {fmt(r, 1, 1)}×")

    on, off = get(delay0, "swift", kind, goal_c, "ok_rps"), get(delay0, "swift-nolog", kind, goal_c, "ok_rps")
    if logging:
        on, off = logging["on"]["ok_rps"], logging["off"]["ok_rps"]
        kind = f"sim, median of {args.logging_rounds} alternating rounds"
    cost = None if on is None or not off else 1 - on / off
    caveat = "" if has_simulator else " — client-bound, indicative only; see the CPU line below"
    out.append(f"{verdict(None if cost is None else cost < 0.05)} logging cost < 5 % (1 - rps_on/rps_off, delay "
               f"{delay0} ms, c={goal_c}, {kind}{caveat}): on {fmt(on, 1, 0)}, off {fmt(off, 1, 0)} req/s, cost "
               f"{fmt(cost, 100, 1)} %")
    # At saturation requests/s go as 1/(CPU per request), so 1 - cpu_off/cpu_on is the same cost
    # measured independently of the client (resolution: one clock tick, 10 ms, per cell).
    cpu_on = get(delay0, "swift", "sim" if has_simulator else "dendrite", goal_c, "cpu_ms_per_req")
    cpu_off = get(delay0, "swift-nolog", "sim" if has_simulator else "dendrite", goal_c, "cpu_ms_per_req")
    if logging:
        cpu_on, cpu_off = logging["on"]["cpu_ms_per_req"], logging["off"]["cpu_ms_per_req"]
    cpu_cost = None if not cpu_on or cpu_off is None else 1 - cpu_off / cpu_on
    out.append(f"{verdict(None if cpu_cost is None else cpu_cost < 0.05)} logging cost in CPU < 5 % "
               f"(1 - cpu_off/cpu_on, same cell): {fmt(cpu_on, 1, 3)} ms/req with the log, {fmt(cpu_off, 1, 3)} "
               f"without, cost {fmt(cpu_cost, 100, 1)} %")
    return out


def table_text(header, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [line(header), *(line(r) for r in rows)]


def table_markdown(header, rows):
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


if __name__ == "__main__":
    main()
