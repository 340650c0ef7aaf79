"""Where a worker's CPU goes while it relays tokens: a `perf record -g` profile split by stage.

    perf record -F 2999 -g -p WORKER_PID -o worker.data   (while bench/token_to_wire.py loads it,
                                                           or: token_to_wire.py --perf DIR)
    python3 bench/perf_split.py [--request] worker.data [other.data ...]

Each sample goes to the stage of the nearest frame of its stack (from the leaf up) that belongs
to one: decoding each event's JSON, SSE parsing, writing each batch to the validator, reading
the backend, hand-offs between tasks, the engine and session, the log, per-request work, and
waiting/waking (epoll, futex, the scheduler). Symbols are demangled with `swift demangle`.
Several profiles print side by side (e.g. before and after a change). `--request` splits a
profile of the request path instead (the mock backend under `miners simulate -c 50`, as
bench/footprint.py's `--profile` records): reading and parsing HTTP, the signature, the body's
JSON and hash, admission, timers, the engine, the mock, the writes, the log. Not part of the
test run.
"""
import collections
import re
import subprocess
import sys

STAGES = [
    ("JSON decoding of each event", r"JSONSerialization|_JSONReader|JSONScanner|ChunkScanner"),
    ("SSE parsing", r"SSEParser"),
    ("log: journal, record, SQLite", r"LogWriter|RequestJournal|RequestLine|sqlite3|GRDB|MappedFile"),
    ("per request: responder, admission, signature, body, backend request",
     r"SynapseResponder\.respond|SynapseResponder\.readBody|Admission|Sr25519|sodium|SynapseRequest|SynapseHeaders"
     r"|BodyHash|StreamingResponseHead|HTTPClient\.execute|executeCancellable|executeAndFollow|withRequestSpan"),
    ("write of each batch to the validator (NIO write, writev)",
     r"NIOAsyncWriter|_doOutboundWrite|NIOAsyncChannelOutboundWriter|writeToSocket|flushNow|__GI___writev"),
    ("read of the backend (socket read, HTTP/1 decoding, AsyncHTTPClient)",
     r"HTTP1ClientChannelHandler|HTTPDecoder|llhttp|Transaction|HTTPClientResponse|NIOThrowingAsyncSequenceProducer"
     r"|readFromSocket|HTTPStreamClient"),
    ("hand-offs between tasks (channels, enqueue, task switch)",
     r"GenerationStream|AsyncThrowingChannel|ChannelStorage|ChannelStateMachine|AsyncStream|BatchQueue"
     r"|swift_task_enqueue|swift_task_switch|EventLoopTaskExecutor|withTaskCancellationHandler|swift_continuation"
     r"|withUnsafe.*Continuation|_dispatch_root_queue_poke|flagAsAndEnqueue|swift_task_create|TaskGroup"),
    ("engine and session", r"StreamingEngine|StreamSession|FinalAnswerDetector|ChatCompletionStream"),
    ("waiting and waking (epoll, futex, scheduler)",
     r"epoll_wait|futex|__schedule|_dispatch_sema|_dispatch_worker_thread|_dispatch_mgr|whenReady0|_blockingWaitForWork"),
]
REQUEST_STAGES = [
    ("signature (sr25519: Merlin transcript, Ristretto in libsodium)", r"Sr25519|sodium|Keccak|Strobe|Transcript|crypto_|libsodium"),
    ("body: JSON, hash, headers", r"JSONParser|SynapseRequest|SynapseHeaders|BodyHash|SHA3|sha3|StreamingResponseHead"),
    ("log: journal, record, SQLite", r"LogWriter|RequestJournal|RequestLine|sqlite3|GRDB|MappedFile|libsqlite"),
    ("admission: nonces, blacklist, rate, capacity", r"Admission|NonceTable|RateLimiter|CapacityGate"),
    ("timers (deadlines, watchdog)", r"EventLoopClock|Sleeper|_sleep|dispatch_after|_dispatch_source|_dispatch_timer"
     r"|swift_dispatchEnqueueWithDeadline"),
    ("engine, session, mock backend", r"StreamingEngine|StreamSession|MockBackend|BatchQueue|FinalAnswerDetector"),
    ("write of each batch (NIO write path, writev)",
     r"NIOAsyncWriter|_doOutboundWrite|NIOAsyncChannelOutboundWriter|writeToSocket|flushNow|__GI___writev|ResponseBodyWriter"),
    ("read and parse HTTP (socket read, llhttp, Hummingbird)",
     r"readFromSocket|HTTPDecoder|llhttp|BetterHTTPParser|HTTP1ToHTTPServerCodec|HTTP1Compliance|ConnectionGuard"
     r"|HTTPServerHandler|HTTPConnectionStateHandler|HTTP1Channel|Router|Responder"),
    ("hand-offs between tasks (enqueue, task switch, groups)",
     r"swift_task_enqueue|swift_task_switch|EventLoopTaskExecutor|withTaskCancellationHandler|swift_continuation"
     r"|withUnsafe.*Continuation|_dispatch_root_queue_poke|flagAsAndEnqueue|swift_task_create|TaskGroup"),
    ("waiting and waking (epoll, futex, scheduler)",
     r"epoll_wait|futex|__schedule|_dispatch_sema|_dispatch_worker_thread|_dispatch_mgr|whenReady0|_blockingWaitForWork"),
]
OTHER = "other (runtime, allocation, NIO plumbing)"


def stacks(path):
    """The frames of each sample, leaf first, demangled."""
    script = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso", "--no-inline"],
                            capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["swift", "demangle", "--simplified"], input=script, capture_output=True, text=True).stdout
    frames = None
    for line in text.split("\n"):
        if not line.strip():
            if frames is not None:
                yield frames
            frames = None
        elif not line[0].isspace():
            frames = []
        elif frames is not None:
            parts = line.strip().split(" ", 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
    if frames is not None:
        yield frames


def split(path, compiled):
    counts, total = collections.Counter(), 0
    for frames in stacks(path):
        total += 1
        stage = next((label for frame in frames for label, pattern in compiled if pattern.search(frame)), OTHER)
        counts[stage] += 1
    return counts, total


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return
    stages = STAGES
    if args[0] == "--request":
        stages, args = REQUEST_STAGES, args[1:]
    compiled = [(label, re.compile(pattern)) for label, pattern in stages]
    profiles = [(path, *split(path, compiled)) for path in args]
    width = max(len(label) for label, _ in stages)
    print(" " * width + "  " + "  ".join(f"{path[-20:]:>20}" for path, _, _ in profiles))
    for label in [label for label, _ in stages] + [OTHER]:
        print(f"{label:{width}}  " + "  ".join(f"{counts[label] / max(1, total) * 100:19.1f}%"
                                              for _, counts, total in profiles))
    print(f"{'samples':{width}}  " + "  ".join(f"{total:20d}" for _, _, total in profiles))


if __name__ == "__main__":
    main()
