"""A connection flood for test_flood.py, run as its own process (an attacker is not in the
validator's process, and the flood's loop must not hold the client's GIL): holds SIZE idle
connections to 127.0.0.1:PORT, reopening each one the server closes, from the given source
addresses in turn. Bounded: it stops after DURATION seconds, after MAX_OPENS connections in
all, or when its standard input closes. Prints `ready` once SIZE connections have been opened,
and its figures as one JSON line at the end.

    python flood_client.py PORT [--sources 127.0.0.2-127.0.0.250] [--size 1024] [--duration 30]
"""
import argparse
import errno
import json
import resource
import selectors
import socket
import sys
import threading
import time

BURST = 64
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def addresses(spec):
    """`127.0.0.2-127.0.0.250` or a comma-separated list."""
    if "-" in spec:
        first, last = spec.split("-")
        prefix, start = first.rsplit(".", 1)
        end = int(last.rsplit(".", 1)[1])
        return [f"{prefix}.{n}" for n in range(int(start), end + 1)]
    return spec.split(",")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--sources", default="127.0.0.1")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--max-opens", type=int, default=300_000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.size + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.size + 1024), hard))

    sources = addresses(args.sources)
    stop = threading.Event()
    # Stdin closing (the test ending, or dying) stops the flood.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    selector = selectors.DefaultSelector()
    stats = {"opened": 0, "closed_by_server": 0, "connect_errors": 0, "open_max": 0}
    turn = 0

    def open_one():
        nonlocal turn
        source = sources[turn % len(sources)]
        turn += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            if source != "127.0.0.1":
                # Many connections from one bound address: pick the port at connect, per destination.
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                sock.bind((source, 0))
            code = sock.connect_ex(("127.0.0.1", args.port))
        except OSError:
            code = -1
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            stats["connect_errors"] += 1
            return
        selector.register(sock, selectors.EVENT_READ)
        stats["opened"] += 1

    started = time.monotonic()
    # In bursts the server's listen backlog takes: beyond it, the kernel drops the handshake's
    # last ACK and the client holds a connection the server never had.
    for _ in range(0, args.size, BURST):
        for _ in range(min(BURST, args.size - len(selector.get_map()))):
            open_one()
        time.sleep(0.02)
    print("ready", flush=True)
    while not stop.is_set() and time.monotonic() - started < args.duration and stats["opened"] < args.max_opens:
        open_now = len(selector.get_map())
        stats["open_max"] = max(stats["open_max"], open_now)
        # Closed ones (and failed attempts) are replaced: the flood keeps SIZE open.
        for key, _ in selector.select(timeout=0.05):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                continue  # a refusal's bytes; the close follows
            selector.unregister(sock)
            sock.close()
            stats["closed_by_server"] += 1
        for _ in range(min(BURST, args.size - len(selector.get_map()))):
            open_one()
        if len(selector.get_map()) < args.size:
            time.sleep(0.01)  # out of ports or descriptors: do not spin
    stats["seconds"] = round(time.monotonic() - started, 1)
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
