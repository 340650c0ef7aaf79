"""A fake subtensor node on loopback: JSON-RPC 2.0 over a websocket, enough for the real bittensor
10.5.0 and for the native client to read the metagraph and to serve an axon.

Why: no subtensor node can run on these machines, yet both clients must be tested against the
same bytes. The node replays real Finney answers (the recordings next to CHAIN.md) and keeps a
tiny chain state of its own (Uids, Axons, ServingRateLimit, nonces) so that `serve_axon` can be
verified end to end: the extrinsic is decoded, its sr25519 signature checked over the signing
payload, and the chain's pool checks (CHAIN.md §1.3) applied in the chain's order.

    with FakeNode(block_seconds=None).start() as node:      # or: python fake_node.py [--port N]
        node.netuid_registered(1, hotkey_ss58, uid=5)
        ...  point a client at node.url, then assert on node.submissions / node.requests

What it answers, and how:
* Replay (recorded answers, `{method: {json.dumps(params): response}}`): exact params first;
  for `state_call` the (runtime-API method, data hex) pair, ignoring the block hash; then, for any
  method other than `state_call` and storage reads, the last recorded answer of that method with
  whatever params (so `state_getRuntimeVersion`, `rpc_methods`, `system_chain` answer for any
  block). The metagraph recording is loaded last, so its spec-343 runtime version wins over the
  neurons-lite recording's spec 208. A request nothing answers gets JSON-RPC error -32601 and a
  line on stderr.
* Metadata: `Metadata_metadata_at_version` (any version, any block) → the v15 recording;
  `state_getMetadata` → the legacy recording; `Metadata_metadata_versions` → [14, 15].
* The head: frozen at the recorded block 6,852,690 unless `block_seconds` is set, then it moves
  one block per `block_seconds`; `advance(n)` moves it by hand. Blocks other than the recorded
  one (and its parent) get synthetic hashes and headers. Finalized head = best head.
* Storage: `Uids`, `Axons`, `ServingRateLimit` of SubtensorModule come from the tiny state, null
  when absent. ServingRateLimit is returned only when a test set it explicitly; otherwise null,
  which a client must read as the chain default 50 (the checks here use 50 too). `System.Events`
  of a block this node "produced" is synthesised (ExtrinsicSuccess per included extrinsic), so
  bittensor's receipt reports success. Any other key: recorded answer, else null (as a chain
  answers for an empty key), logged to stderr. State is "latest" whatever block hash is asked.
* `NeuronInfoRuntimeApi_get_neuron(netuid, uid)` for a uid registered in the tiny state →
  a synthetic NeuronInfo (its axon from the state, zero stake), else None. Bittensor reads it
  before serving to skip an "already served" axon.
* Submissions (`author_submitAndWatchExtrinsic`, `author_submitExtrinsic`): see `_submit`.
  A nonce above the expected one is treated as the pool does: accepted into the future queue
  (`"future"` notification, or the hash) and never included; verdict "future".
  An `ip_type` other than 4/6 is "Custom error: 255" (the chain's InvalidIpType maps to
  BadRequest; CHAIN.md §1.3), a bad address "Custom error: 11".
* `chain_getBlock(hash)` of a produced block lists the extrinsics included there.
* Deregistration: `deregister(hotkey)` gives the hotkey's uid to another hotkey in every replayed
  `state_call` answer (its 32 bytes swapped, so a neuron keeps its place and size: what a chain
  shows once a new registration has taken the uid); `register_again(hotkey)` undoes it.
  `allow_metagraph_reads(n)` answers only the next n `get_neurons_lite` calls and refuses the
  rest (a node that is down for it; None: all), so a test can let refreshes through one at a time.

Fallbacks added because bittensor 10.5.0 asked: `NeuronInfoRuntimeApi_get_neuron` (synthetic,
above), `System.Events` (synthetic, above), `chain_getBlock` (synthetic). Everything else
bittensor's `metagraph(1)`, `neurons_lite(1)` and serve path asked is in the recordings or
handled by the clock. Not answered (no recording, bittensor does not ask): `system_properties`,
`system_name`, `state_queryStorageAt`, `payment_queryInfo`, …: error -32601 plus a stderr line.

Caveat: the neurons-lite recording is netuid 23 at block 3,264,157 under runtime spec 208; its
NeuronInfoLite bytes do not decode with the spec-343 metadata served here, so bittensor's
`neurons_lite(23)` fails. `neurons_lite(1)` uses the metagraph recording and works.
"""
import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import secrets
import ssl
import sys
import threading
import time
from pathlib import Path

import websockets
import xxhash
from bittensor_wallet import Keypair
from scalecodec.utils.ss58 import ss58_decode, ss58_encode
from websockets.asyncio.server import serve


def _recordings_dir():
    """The recordings live outside the repository; CHAIN_RECORDINGS can point elsewhere."""
    for candidate in (os.environ.get("CHAIN_RECORDINGS"),
                      Path(__file__).resolve().parents[1] / "Fixtures" / "chain",
                      "/work/shared/reference/chain"):
        if candidate and (Path(candidate) / "rpc-session-metagraph-netuid1.json").exists():
            return Path(candidate)
    raise FileNotFoundError("chain recordings not found; set CHAIN_RECORDINGS")


RECORDED_BLOCK = 6_852_690
GENESIS = "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03"
SPEC_VERSION, TRANSACTION_VERSION = 343, 1
DEFAULT_SERVING_RATE_LIMIT = 50
SS58_FORMAT = 42


# --- hashing and SCALE helpers (also for tests) -------------------------------------------------

def twox128(data: bytes) -> bytes:
    return b"".join(xxhash.xxh64(data, seed=seed).intdigest().to_bytes(8, "little") for seed in (0, 1))


def blake2_128(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def compact(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raw = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return bytes([((len(raw) - 4) << 2) | 3]) + raw


def read_compact(data: bytes, offset: int):
    """(value, next offset) of the SCALE compact integer at `offset`."""
    mode = data[offset] & 3
    if mode == 0:
        return data[offset] >> 2, offset + 1
    if mode == 1:
        return int.from_bytes(data[offset:offset + 2], "little") >> 2, offset + 2
    if mode == 2:
        return int.from_bytes(data[offset:offset + 4], "little") >> 2, offset + 4
    size = (data[offset] >> 2) + 4
    return int.from_bytes(data[offset + 1:offset + 1 + size], "little"), offset + 1 + size


def pubkey(hotkey) -> bytes:
    """32-byte public key from an SS58 address, a 0x-hex string or bytes."""
    if isinstance(hotkey, (bytes, bytearray)):
        return bytes(hotkey)
    if hotkey.startswith("0x"):
        return bytes.fromhex(hotkey[2:])
    return bytes.fromhex(ss58_decode(hotkey))


def ss58(key: bytes) -> str:
    return ss58_encode(key.hex(), SS58_FORMAT)


def ip_to_int(ip: str) -> int:
    return int(ipaddress.ip_address(ip))


_MODULE = twox128(b"SubtensorModule")


def storage_key_uids(netuid: int, hotkey) -> str:
    key = pubkey(hotkey)
    return "0x" + (_MODULE + twox128(b"Uids") + netuid.to_bytes(2, "little") + blake2_128(key) + key).hex()


def storage_key_axons(netuid: int, hotkey) -> str:
    key = pubkey(hotkey)
    return "0x" + (_MODULE + twox128(b"Axons") + netuid.to_bytes(2, "little") + blake2_128(key) + key).hex()


def storage_key_serving_rate_limit(netuid: int) -> str:
    return "0x" + (_MODULE + twox128(b"ServingRateLimit") + netuid.to_bytes(2, "little")).hex()


SYSTEM_EVENTS_KEY = "0x" + (twox128(b"System") + twox128(b"Events")).hex()


def encode_axon(axon: dict) -> bytes:
    """AxonInfo: block u64 | version u32 | ip u128 | port u16 | ip_type u8 | protocol u8 | ph1 u8 | ph2 u8."""
    return (axon["block"].to_bytes(8, "little") + axon["version"].to_bytes(4, "little")
            + axon["ip"].to_bytes(16, "little") + axon["port"].to_bytes(2, "little")
            + bytes([axon["ip_type"], axon["protocol"], axon["placeholder1"], axon["placeholder2"]]))


def synthetic_hash(n: int) -> str:
    return "0x" + hashlib.blake2b(b"block" + n.to_bytes(8, "little"), digest_size=32).hexdigest()


def _err(code, message, data=None):
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return error


def _invalid(data):
    """The pool's refusal, as substrate's author RPC reports it."""
    return _err(1010, "Invalid Transaction", data)


class RpcError(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error


# --- the node ------------------------------------------------------------------------------------

class FakeNode:
    """Replaying, state-keeping fake node; `start()` serves it from a background thread."""

    def __init__(self, port=0, block_seconds=None, recordings=None, notify_delay=0.05, tls=None):
        self.port = port
        self.tls = tls                              # (certificate file, key file): serve wss://
        self.block_seconds = block_seconds
        self.notify_delay = notify_delay
        folder = Path(recordings) if recordings else _recordings_dir()
        self._load(folder)
        self._numbers = {GENESIS: 0}       # block hash -> number, for every hash handed out
        self.block_hash(RECORDED_BLOCK - 1)
        self.block_hash(RECORDED_BLOCK)
        self.requests = []                 # (method, params) of every request, in arrival order
        self.submissions = []              # one dict per submitted extrinsic, with its verdict
        self.uids = {}                     # (netuid, pubkey) -> uid
        self.coldkeys = {}                 # (netuid, pubkey) -> coldkey pubkey
        self.axons = {}                    # (netuid, pubkey) -> AxonInfo dict
        self.serving_rate_limit = {}       # netuid -> blocks (unset: chain default 50)
        self.nonces = {}                   # ss58 -> next nonce (unset: 0)
        self.force_error = None            # "Custom error: 12": the next well-signed, in-order
                                           # submission is refused with it, whatever the state
        self.drop_next = False             # next good *watched* submission: "dropped", not applied
        self.replaced_hotkeys = {}         # pubkey -> pubkey that holds its uid now (deregister)
        self.metagraph_reads = None        # get_neurons_lite answers left (None: unlimited)
        self._blocks = {}                  # produced block hash -> [extrinsic hex]
        self._offset = 0
        self._t0 = time.monotonic()
        self._lock = threading.RLock()
        self._thread = None
        self._loop = None
        self._stop = None

    def _load(self, folder):
        self.recorded = {}
        for name in ("rpc-session-neurons-lite.json", "rpc-session-metagraph-netuid1.json"):
            for method, answers in json.loads((folder / name).read_text()).items():
                merged = self.recorded.setdefault(method, {})
                for params, response in answers.items():
                    merged.pop(params, None)          # re-insert so "last answer" is this file's
                    merged[params] = response
        self.recorded_calls = {}
        for params, response in self.recorded.get("state_call", {}).items():
            api, data = json.loads(params)[:2]
            self.recorded_calls[(api, data.lower().removeprefix("0x"))] = response
        self.metadata_v15 = "".join((folder / "metadata-v15-spec343.hex.txt").read_text().split())
        self.metadata_legacy = "".join((folder / "metadata-legacy.hex.txt").read_text().split())
        head = self.recorded["chain_getHeader"][json.dumps([None])]["result"]
        assert int(head["number"], 16) == RECORDED_BLOCK
        self.recorded_header = head
        self.recorded_head = self.recorded["chain_getBlockHash"][json.dumps([RECORDED_BLOCK])]["result"]

    # --- lifecycle

    @property
    def url(self):
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def start(self):
        self._t0 = time.monotonic()                # the clock runs from start()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="fake-node")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake node did not start")
        return self

    def _run(self, ready):
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main(ready))
        self._loop.close()

    async def _main(self, ready):
        self._stop = asyncio.Event()
        # Loopback only; compression off because the 600 KB metadata would cost more to deflate
        # than to send; max_size off because bittensor sends and receives megabyte frames.
        context = None
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
        async with serve(self._connection, "127.0.0.1", self.port, max_size=None,
                         compression=None, ping_interval=None, ssl=context) as server:
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop.wait()

    def stop(self):
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self):
        return self if self._thread else self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- the tiny chain state, for tests

    def netuid_registered(self, netuid, hotkey, uid=0, coldkey=None):
        key = pubkey(hotkey)
        with self._lock:
            self.uids[(netuid, key)] = uid
            self.coldkeys[(netuid, key)] = pubkey(coldkey) if coldkey else key

    def set_axon(self, netuid, hotkey, block, version, ip_int, port, ip_type=4, protocol=4,
                 placeholder1=0, placeholder2=0):
        ip = ip_to_int(ip_int) if isinstance(ip_int, str) else ip_int
        with self._lock:
            self.axons[(netuid, pubkey(hotkey))] = dict(
                block=block, version=version, ip=ip, port=port, ip_type=ip_type, protocol=protocol,
                placeholder1=placeholder1, placeholder2=placeholder2)

    def axon(self, netuid, hotkey):
        """The stored AxonInfo dict (or None): what a test asserts after a serve."""
        with self._lock:
            return self.axons.get((netuid, pubkey(hotkey)))

    def deregister(self, hotkey, replacement=None):
        """The hotkey's uid now belongs to `replacement` (default: a key derived from it)."""
        key = pubkey(hotkey)
        with self._lock:
            self.replaced_hotkeys[key] = pubkey(replacement) if replacement else blake2_256(b"replacement" + key)

    def register_again(self, hotkey):
        with self._lock:
            self.replaced_hotkeys.pop(pubkey(hotkey), None)

    def allow_metagraph_reads(self, count):
        with self._lock:
            self.metagraph_reads = count

    def advance(self, blocks=1):
        """Move the head by hand (works with the clock frozen or running)."""
        with self._lock:
            self._offset += blocks

    # --- the clock

    def head_number(self):
        ticks = int((time.monotonic() - self._t0) / self.block_seconds) if self.block_seconds else 0
        return RECORDED_BLOCK + self._offset + ticks

    def block_hash(self, n):
        if n == 0:
            return GENESIS
        if n == RECORDED_BLOCK:
            h = self.recorded_head
        elif n == RECORDED_BLOCK - 1:
            h = self.recorded_header["parentHash"]
        else:
            h = synthetic_hash(n)
        self._numbers[h] = n
        return h

    def header(self, n):
        if n == RECORDED_BLOCK:
            return self.recorded_header
        tag = n.to_bytes(8, "little")
        return {"parentHash": self.block_hash(n - 1) if n else "0x" + "00" * 32,
                "number": hex(n),
                "stateRoot": "0x" + hashlib.blake2b(b"state" + tag, digest_size=32).hexdigest(),
                "extrinsicsRoot": "0x" + hashlib.blake2b(b"extrinsics" + tag, digest_size=32).hexdigest(),
                "digest": {"logs": []}}

    def _number_of(self, block_hash):
        if block_hash is None:
            return self.head_number()
        self.block_hash(self.head_number())       # make sure the current head is known
        return self._numbers.get(block_hash.lower())

    def _inclusion_block(self):
        """Where a good extrinsic lands: the next block when the chain moves, else the head
        (pool validation also runs at best + 1 on a real chain)."""
        head = self.head_number()
        return head + 1 if self.block_seconds else head

    # --- websocket plumbing

    async def _connection(self, ws):
        """Serves one client until it hangs up; a client closing mid-subscription is normal."""
        try:
            await self._serve_connection(ws)
        except websockets.exceptions.ConnectionClosed:
            pass

    async def _serve_connection(self, ws):
        async for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": None, "error": _err(-32700, "Parse error")}))
                continue
            followups = []
            if isinstance(message, list):
                replies = [self._reply(m, followups) for m in message]
                await ws.send(json.dumps(replies))
            else:
                await ws.send(json.dumps(self._reply(message, followups)))
            for followup in followups:
                asyncio.ensure_future(self._quietly(followup(ws)))

    @staticmethod
    async def _quietly(notification):
        try:
            await notification
        except websockets.exceptions.ConnectionClosed:
            pass

    def _reply(self, message, followups):
        method, params, rid = message.get("method"), message.get("params") or [], message.get("id")
        with self._lock:
            self.requests.append((method, params))
            try:
                result = self._dispatch(method, params, followups)
                return {"jsonrpc": "2.0", "id": rid, "result": result}
            except RpcError as e:
                return {"jsonrpc": "2.0", "id": rid, "error": e.error}

    def _dispatch(self, method, params, followups):
        handler = getattr(self, "_rpc_" + method, None) if method else None
        if handler:
            return handler(params, followups)
        return self._replay(method, params)

    def _replay(self, method, params, any_params=True):
        answers = self.recorded.get(method, {})
        key = json.dumps(params)
        if key in answers:
            return answers[key]["result"]
        if answers and any_params:
            return list(answers.values())[-1]["result"]
        print(f"fake_node: nothing recorded for {method} {json.dumps(params)[:300]}", file=sys.stderr)
        raise RpcError(_err(-32601, f"Method not found (fake node has no answer for {method})"))

    # --- chain_*

    def _rpc_chain_getHead(self, params, _):
        return self.block_hash(self.head_number())

    _rpc_chain_getFinalizedHead = _rpc_chain_getFinalisedHead = _rpc_chain_getHead

    def _rpc_chain_getBlockHash(self, params, _):
        n = params[0] if params else None
        if n is None:
            return self.block_hash(self.head_number())
        n = int(n, 16) if isinstance(n, str) else n
        return self.block_hash(n) if n <= self.head_number() else None

    def _rpc_chain_getHeader(self, params, _):
        block_hash = params[0] if params else None
        n = self._number_of(block_hash)
        if n is not None:
            return self.header(n)
        recorded = self.recorded["chain_getHeader"].get(json.dumps(params))   # e.g. the neurons-lite head
        return recorded["result"] if recorded else None                       # unknown hash: null, as a node

    def _rpc_chain_getBlock(self, params, _):
        block_hash = params[0] if params else None
        n = self._number_of(block_hash)
        if n is None:
            return None
        extrinsics = self._blocks.get(self.block_hash(n), [])
        return {"block": {"header": self.header(n), "extrinsics": list(extrinsics)}, "justifications": None}

    # --- state_*

    def _rpc_state_getMetadata(self, params, _):
        return self.metadata_legacy

    def _rpc_state_call(self, params, _):
        api = params[0]
        if api == "NeuronInfoRuntimeApi_get_neurons_lite" and self.metagraph_reads is not None:
            if self.metagraph_reads <= 0:
                raise RpcError(_err(-32000, "Client error: the fake node refuses this read (allow_metagraph_reads)"))
            self.metagraph_reads -= 1
        result = self._state_call(params)
        for old, new in self.replaced_hotkeys.items():
            if isinstance(result, str) and old.hex() in result:
                result = "0x" + bytes.fromhex(result[2:]).replace(old, new).hex()
        return result

    def _state_call(self, params):
        api, data = params[0], (params[1] if len(params) > 1 else "").lower().removeprefix("0x")
        if api == "Metadata_metadata_at_version":
            return self.metadata_v15
        if api == "Metadata_metadata_versions":
            return "0x080e0000000f000000"
        if api == "NeuronInfoRuntimeApi_get_neuron" and len(data) == 8:
            neuron = self._neuron(int.from_bytes(bytes.fromhex(data[:4]), "little"),
                                  int.from_bytes(bytes.fromhex(data[4:]), "little"))
            if neuron is not None:
                return neuron
        if json.dumps(params) in self.recorded.get("state_call", {}):
            return self.recorded["state_call"][json.dumps(params)]["result"]
        if (api, data) in self.recorded_calls:
            return self.recorded_calls[(api, data)]["result"]
        if api == "NeuronInfoRuntimeApi_get_neuron":
            return "0x00"                                  # Option::None: no such neuron
        print(f"fake_node: nothing recorded for state_call {api} 0x{data[:200]}", file=sys.stderr)
        raise RpcError(_err(-32601, f"Method not found (fake node has no answer for state_call {api})"))

    def _neuron(self, netuid, uid):
        """Option<NeuronInfo> hex for a uid of the tiny state: its axon, zero stake and scores."""
        hotkey = next((k for (n, k), u in self.uids.items() if n == netuid and u == uid), None)
        if hotkey is None:
            return None
        coldkey = self.coldkeys[(netuid, hotkey)]
        axon = self.axons.get((netuid, hotkey)) or dict(block=0, version=0, ip=0, port=0, ip_type=0,
                                                         protocol=0, placeholder1=0, placeholder2=0)
        body = (hotkey + coldkey + compact(uid) + compact(netuid) + b"\x01" + encode_axon(axon)
                + bytes(31)                                 # PrometheusInfo, never served
                + compact(1) + coldkey + compact(0)         # stake: [(coldkey, 0)]
                + compact(0) * 8                            # rank … last_update
                + b"\x00" + compact(0) + compact(0)         # validator_permit, weights, bonds
                + compact(65535))                           # pruning_score
        return "0x01" + body.hex()

    def _rpc_state_getStorage(self, params, _):
        return self._storage(params[0], params[1] if len(params) > 1 else None, params)

    def _rpc_state_getStorageAt(self, params, _):
        return self._storage(params[0], params[1] if len(params) > 1 else None, params)

    def _storage(self, key, block_hash, params):
        raw = bytes.fromhex(key.lower().removeprefix("0x"))
        if raw.startswith(_MODULE):
            found, value = self._module_storage(raw[16:])
            if found:
                return value
        if key.lower() == SYSTEM_EVENTS_KEY and block_hash and block_hash.lower() in self._blocks:
            return self._events(len(self._blocks[block_hash.lower()]))
        for method in ("state_getStorageAt", "state_getStorage"):
            answers = self.recorded.get(method, {})
            for candidate in (json.dumps(params), json.dumps([key, block_hash])):
                if candidate in answers:
                    return answers[candidate]["result"]
        print(f"fake_node: no recorded storage for {key} → null", file=sys.stderr)
        return None

    def _module_storage(self, rest):
        """(handled, value hex or None) for the SubtensorModule items this node keeps."""
        item, tail = rest[:16], rest[16:]
        if item == twox128(b"ServingRateLimit") and len(tail) == 2:
            netuid = int.from_bytes(tail, "little")
            limit = self.serving_rate_limit.get(netuid)
            return True, None if limit is None else "0x" + limit.to_bytes(8, "little").hex()
        if item in (twox128(b"Uids"), twox128(b"Axons")) and len(tail) == 2 + 16 + 32:
            netuid, key = int.from_bytes(tail[:2], "little"), tail[18:]
            if blake2_128(key) != tail[2:18]:
                return False, None
            if item == twox128(b"Uids"):
                uid = self.uids.get((netuid, key))
                return True, None if uid is None else "0x" + uid.to_bytes(2, "little").hex()
            axon = self.axons.get((netuid, key))
            return True, None if axon is None else "0x" + encode_axon(axon).hex()
        return False, None

    @staticmethod
    def _events(count):
        """Vec<EventRecord>: System.ExtrinsicSuccess (pallet 0, event 0) for extrinsics 0..count-1,
        DispatchInfo {weight {ref_time, proof_size}, class Normal, pays_fee No}."""
        records = b"".join(
            b"\x00" + i.to_bytes(4, "little")              # Phase::ApplyExtrinsic(i)
            + b"\x00\x00"                                   # System::ExtrinsicSuccess
            + compact(100_000_000) + compact(0) + b"\x00" + b"\x01"
            + compact(0)                                    # topics
            for i in range(count))
        return "0x" + (compact(count) + records).hex()

    # --- accounts

    def _rpc_account_nextIndex(self, params, _):
        return self.nonces.get(ss58(pubkey(params[0])), 0)

    _rpc_system_accountNextIndex = _rpc_account_nextIndex

    # --- author_*

    def _rpc_author_submitExtrinsic(self, params, _):
        return self._submit(params[0])[1]

    def _rpc_author_submitAndWatchExtrinsic(self, params, followups):
        verdict, _, block = self._submit(params[0], watched=True)
        subscription = secrets.token_hex(8)
        statuses = {"ok": ["ready", "inBlock", "finalized"], "dropped": ["ready", "dropped"],
                    "future": ["future"]}[verdict]

        async def notify(ws):
            for status in statuses:
                await asyncio.sleep(self.notify_delay)
                if status in ("inBlock", "finalized"):
                    while self.head_number() < block:          # the block must exist first
                        await asyncio.sleep(0.01)
                    with self._lock:
                        result = {status: self.block_hash(block)}
                else:
                    result = status
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "author_extrinsicUpdate",
                                          "params": {"subscription": subscription, "result": result}}))
        followups.append(notify)
        return subscription

    def _rpc_author_unwatchExtrinsic(self, params, _):
        return True

    def _submit(self, xt_hex, watched=False):
        """Decode a signed v4 extrinsic, verify it and apply the pool's checks in the chain's order
        (signature, nonce, then SubtensorModule's validate_serve_axon). Returns (verdict, hash,
        inclusion block); a refusal raises RpcError after being recorded in `submissions`."""
        raw = bytes.fromhex(xt_hex.lower().removeprefix("0x"))
        xt_hash = "0x" + blake2_256(raw).hex()
        try:
            fields = self._decode(raw)
        except (IndexError, ValueError) as e:
            self.submissions.append({"extrinsic": xt_hex, "verdict": f"bad format: {e}"})
            raise RpcError(_err(1001, "Extrinsic has invalid format", str(e)))
        record = dict(fields, extrinsic_hash=xt_hash, signature_ok=False, verdict=None, block=None)
        del record["payload"], record["signature_bytes"]
        self.submissions.append(record)

        def refuse(data):
            record["verdict"] = data
            raise RpcError(_invalid(data))

        signer = Keypair(public_key="0x" + fields["signer"])
        record["signature_ok"] = signer.verify(fields["payload"], fields["signature_bytes"])
        if not record["signature_ok"]:
            refuse("Transaction has a bad signature")
        expected = self.nonces.get(fields["signer_ss58"], 0)
        if fields["nonce"] < expected:
            refuse("Transaction is outdated")
        if self.force_error:
            forced, self.force_error = self.force_error, None
            refuse(forced)
        if fields["nonce"] > expected:
            record["verdict"] = "future"
            return "future", xt_hash, None
        args = fields["args"]
        if args is None:
            refuse("Custom error: 255")
        refusal = self._validate_serve_axon(bytes.fromhex(fields["signer"]), args)
        if refusal:
            refuse(refusal)
        if self.drop_next and watched:
            self.drop_next = False
            record["verdict"] = "dropped"
            return "dropped", xt_hash, None
        block = self._inclusion_block()
        self.axons[(args["netuid"], bytes.fromhex(fields["signer"]))] = dict(
            block=block, **{k: args[k] for k in ("version", "ip", "port", "ip_type", "protocol",
                                                 "placeholder1", "placeholder2")})
        self.nonces[fields["signer_ss58"]] = expected + 1
        self._blocks.setdefault(self.block_hash(block), []).append("0x" + raw.hex())
        record.update(verdict="ok", block=block)
        return "ok", xt_hash, block

    def _validate_serve_axon(self, hotkey, args):
        """CHAIN.md §1.3: registered (10), ip_type (255), ip (11), rate limit (12), port (13)."""
        netuid = args["netuid"]
        if (netuid, hotkey) not in self.uids:
            return "Custom error: 10"
        if args["ip_type"] not in (4, 6):
            return "Custom error: 255"
        ip = args["ip"]
        if args["ip_type"] == 4 and (ip >= 0xFFFFFFFF or ip == 0x7F000001):
            return "Custom error: 11"
        if args["ip_type"] == 6 and ip in (1, (1 << 128) - 1):
            return "Custom error: 11"
        limit = self.serving_rate_limit.get(netuid, DEFAULT_SERVING_RATE_LIMIT)
        last = (self.axons.get((netuid, hotkey)) or {}).get("block", 0)
        if limit and last and self._inclusion_block() - last < limit:
            return "Custom error: 12"
        if args["port"] == 0:
            return "Custom error: 13"
        return None

    def _decode(self, raw):
        """Fields of a signed v4 extrinsic (CHAIN.md §2.2) and the payload it must be signed over (§2.3)."""
        length, at = read_compact(raw, 0)
        body = raw[at:]
        if len(body) != length:
            raise ValueError(f"length prefix {length} != {len(body)} bytes")
        if body[0] != 0x84:
            raise ValueError(f"not a signed v4 extrinsic (0x{body[0]:02x})")
        if body[1] != 0x00 or body[34] != 0x01:
            raise ValueError("signer must be MultiAddress::Id and the signature Sr25519")
        signer, signature = body[2:34], body[35:99]
        at = 99
        era = body[at:at + 1] if body[at] == 0 else body[at:at + 2]
        at += len(era)
        nonce, at = read_compact(body, at)
        tip, at = read_compact(body, at)
        mode = body[at]
        call = body[at + 1:]
        extra = era + compact(nonce) + compact(tip) + bytes([mode])
        implicit = (SPEC_VERSION.to_bytes(4, "little") + TRANSACTION_VERSION.to_bytes(4, "little")
                    + bytes.fromhex(GENESIS[2:]) + bytes.fromhex(self._birth_hash(era)[2:]) + b"\x00")
        payload = call + extra + implicit
        if len(payload) > 256:
            payload = blake2_256(payload)
        return {"signer": signer.hex(), "signer_ss58": ss58(signer), "signature": signature.hex(),
                "signature_bytes": signature, "era": era.hex(), "nonce": nonce, "tip": tip, "mode": mode,
                "call": call.hex(), "args": self._serve_axon_args(call), "payload": payload}

    def _birth_hash(self, era):
        if era == b"\x00":
            return GENESIS
        encoded = int.from_bytes(era, "little")
        period = 2 << (encoded & 0xF)
        quantize = max(period >> 12, 1)
        phase = (encoded >> 4) * quantize
        current = self.head_number()
        return self.block_hash(current - (current - phase) % period)

    @staticmethod
    def _serve_axon_args(call):
        """SubtensorModule.serve_axon (pallet 7, call 4) arguments, or None for any other call."""
        if len(call) != 30 or call[:2] != b"\x07\x04":
            return None
        le = lambda a, b: int.from_bytes(call[a:b], "little")  # noqa: E731
        return {"netuid": le(2, 4), "version": le(4, 8), "ip": le(8, 24), "port": le(24, 26),
                "ip_type": call[26], "protocol": call[27], "placeholder1": call[28], "placeholder2": call[29]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--block-seconds", type=float, default=None,
                        help="advance the head one block per this many seconds (default: frozen)")
    parser.add_argument("--register", action="append", default=[], metavar="NETUID:HOTKEY[:UID]",
                        help="register a hotkey (SS58 or 0x-hex) on a subnet; repeatable")
    parser.add_argument("--serving-rate-limit", action="append", default=[], metavar="NETUID:BLOCKS")
    args = parser.parse_args()
    node = FakeNode(port=args.port, block_seconds=args.block_seconds)
    for spec in args.register:
        netuid, hotkey, *uid = spec.split(":")
        node.netuid_registered(int(netuid), hotkey, uid=int(uid[0]) if uid else 0)
    for spec in args.serving_rate_limit:
        netuid, blocks = spec.split(":")
        node.serving_rate_limit[int(netuid)] = int(blocks)
    node.start()
    print(node.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        node.stop()


if __name__ == "__main__":
    main()
