"""OpenAI-compatible and TGI streaming servers for the tests, shaped like the real ones
(OpenAI chat.completion.chunk events, `: ping` comments, a usage chunk and `data: [DONE]`;
TGI `token`/`generated_text`/`details` events). Run in a thread on loopback.

Also what today's servers add: a reasoning model's thinking (`reasoning` or
`reasoning_content` deltas, as vLLM streams them), Ollama's keep-alive and cold load
(`/api/generate`), and a barrier that holds every stream until `barrier` are open at once."""
import asyncio
import json
import threading
import time

from aiohttp import web


class LoopbackServer:
    """An aiohttp app in a thread of its own on 127.0.0.1, on a free port: `routes(app)` adds
    the subclass's handlers."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def routes(self, app):
        raise NotImplementedError

    def _serve(self, ready):
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        self.routes(app)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)


class FakeLLMServer(LoopbackServer):
    def __init__(self):
        self.tokens = ["The", " answer", " is", " 4", ".", " So", " the", " final", " answer", " is:", " 4"]
        self.delay = 0.0
        self.fail_status = None
        self.requests = []
        self.disconnected_at = None
        # A reasoning model: these pieces stream first, in this delta field.
        self.thinking = []
        self.reasoning_field = "reasoning"
        # Ollama: a model not loaded takes `load_seconds` before its first byte; keep-alive
        # calls are recorded.
        self.load_seconds = 0.0
        self.loaded = True
        self.keep_alive_calls = []
        # Streams open now, the most ever open at once, and how many to wait for.
        self.open_streams = 0
        self.peak_streams = 0
        self.barrier = 0
        self.barrier_timeout = 30.0
        super().__init__()

    def routes(self, app):
        app.router.add_post("/v1/chat/completions", self.openai)
        app.router.add_post("/generate_stream", self.tgi)
        app.router.add_post("/api/generate", self.ollama_generate)

    async def _load(self):
        if not self.loaded:
            await asyncio.sleep(self.load_seconds)
            self.loaded = True

    async def ollama_generate(self, request):
        body = await request.json()
        self.keep_alive_calls.append((time.monotonic(), body))
        await self._load()
        return web.json_response({"model": body.get("model"), "response": "", "done": True, "done_reason": "load"})

    async def _stream(self, request, events):
        self.requests.append(await request.json())
        if self.fail_status:
            return web.json_response({"error": {"message": "model overloaded", "type": "server_error"}}, status=self.fail_status)
        await self._load()
        self.open_streams += 1
        self.peak_streams = max(self.peak_streams, self.open_streams)
        try:
            deadline = time.monotonic() + self.barrier_timeout
            while self.open_streams < self.barrier and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            return await self._write(request, events)
        finally:
            self.open_streams -= 1

    async def _write(self, request, events):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            await response.write(b": ping\n\n")
            for event in events:
                await asyncio.sleep(self.delay)
                await response.write(event)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnected_at = time.monotonic()
            raise
        return response

    async def openai(self, request):
        deltas = [{self.reasoning_field: t} for t in self.thinking] + [{"content": t} for t in self.tokens]
        events = [b"data: " + json.dumps({"object": "chat.completion.chunk",
                                         "choices": [{"index": 0, "delta": d, "finish_reason": None}]}).encode() + b"\n\n"
                  for d in deltas]
        events.append(b'data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":42,"completion_tokens":11,"total_tokens":53}}\n\n')
        events.append(b"data: [DONE]\n\n")
        return await self._stream(request, events)

    async def tgi(self, request):
        events = []
        for index, token in enumerate(self.tokens + ["</s>"]):
            last = index == len(self.tokens)
            events.append(b"data:" + json.dumps({
                "token": {"id": index, "text": token, "logprob": -0.1, "special": last},
                "generated_text": "".join(self.tokens) if last else None,
                "details": {"finish_reason": "eos_token", "generated_tokens": len(self.tokens) + 1} if last else None,
            }).encode() + b"\n\n")
        return await self._stream(request, events)
