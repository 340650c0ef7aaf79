"""CPU time a worker spends per streamed request, driven by the real bittensor dendrite.

    .venv/bin/python bench/cpu_per_request.py [--requests 400] [--concurrency 8] [--bin .build/release/miners]

Starts one `miners worker` on loopback (mock backend, no delay, 40-word answers, batch size 4),
sends a bounded number of requests, and reads the worker's utime+stime from /proc before and
after. Not part of the test run.
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
import bittensor as bt  # noqa: E402
import bittensor.utils.networking as networking  # noqa: E402
from synapse import StreameinsteinSynapse  # noqa: E402

networking.get_external_ip = lambda: "127.0.0.1"  # loopback only
HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
TEXT = " ".join(f"word{i}" for i in range(40))


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(port, requests, concurrency):
    dendrite = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Dave"))
    axon = bt.AxonInfo(version=0, ip="127.0.0.1", port=port, ip_type=4, hotkey=HOTKEY, coldkey=HOTKEY)
    semaphore = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(i):
        nonlocal ok
        async with semaphore:
            synapse = StreameinsteinSynapse(roles=["user"], messages=[urlencode({"question_text": f"q{i}"})])
            responses = await dendrite.forward(axons=[axon], synapse=synapse, timeout=10, streaming=True, deserialize=False)
            async for item in responses[0]:
                if isinstance(item, bt.Synapse) and item.dendrite.status_code == 200 and item.completion == TEXT:
                    ok += 1

    await asyncio.gather(*(one(i) for i in range(requests)))
    await dendrite.aclose_session()
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/release/miners"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(f"miners:\n  - {{name: bench, hotkey: {HOTKEY}, port: 1, streaming_batch_size: 4,\n"
                          f"      backend: {{kind: mock, text: \"{TEXT}\"}}}}\n")
        worker = subprocess.Popen([args.bin, "worker", "--config", str(config), "--miner", "bench", "--port", "0",
                                   "--db", f"{tmp}/bench.sqlite", "--log-level", "warning"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            port = int(worker.stdout.readline().rsplit(":", 1)[1])
            asyncio.run(drive(port, 20, 4))  # warm-up
            before, started = cpu_seconds(worker.pid), time.monotonic()
            ok = asyncio.run(drive(port, args.requests, args.concurrency))
            cpu, wall = cpu_seconds(worker.pid) - before, time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(timeout=15)
    print(f"requests: {args.requests} (concurrency {args.concurrency}), complete and exact: {ok}")
    print(f"worker CPU: {cpu:.3f} s total, {cpu / args.requests * 1000:.3f} ms per request")
    print(f"wall: {wall:.2f} s, {args.requests / wall:.0f} requests/s (client-bound: the Python dendrite)")


if __name__ == "__main__":
    main()
