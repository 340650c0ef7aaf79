"""Where a worker's CPU goes while it relays tokens: a `perf record -g` profile split by stage.

    perf record -F 2999 -g -p WORKER_PID -o worker.data   (while bench/token_to_wire.py loads it,
                                                           or: token_to_wire.py --perf DIR)
    python3 bench/perf_split.py worker.data [other.data ...]

Each sample goes to the stage of the nearest frame of its stack (from the leaf up) that belongs
to one: decoding each event's JSON, SSE parsing, writing each batch to the validator, reading
the backend, hand-offs between tasks, the engine and session, the log, per-request work, and
waiting/waking (epoll, futex, the scheduler). Symbols are demangled with `swift demangle`.
Several profiles print side by side (e.g. before and after a change). Not part of the test run.
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
OTHER = "other (runtime, allocation, NIO plumbing)"
COMPILED = [(label, re.compile(pattern)) for label, pattern in STAGES]


def stacks(path):
    """The frames of each sample, leaf first, demangled."""
    script = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym", "--no-inline"],
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


def split(path):
    counts, total = collections.Counter(), 0
    for frames in stacks(path):
        total += 1
        stage = next((label for frame in frames for label, pattern in COMPILED if pattern.search(frame)), OTHER)
        counts[stage] += 1
    return counts, total


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    profiles = [(path, *split(path)) for path in sys.argv[1:]]
    width = max(len(label) for label, _ in STAGES)
    print(" " * width + "  " + "  ".join(f"{path[-20:]:>20}" for path, _, _ in profiles))
    for label in [label for label, _ in STAGES] + [OTHER]:
        print(f"{label:{width}}  " + "  ".join(f"{counts[label] / max(1, total) * 100:19.1f}%"
                                              for _, counts, total in profiles))
    print(f"{'samples':{width}}  " + "  ".join(f"{total:20d}" for _, _, total in profiles))


if __name__ == "__main__":
    main()
