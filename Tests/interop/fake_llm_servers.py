"""OpenAI-compatible and TGI streaming servers for the tests, shaped like the real ones
(OpenAI chat.completion.chunk events, `: ping` comments, a usage chunk and `data: [DONE]`;
TGI `token`/`generated_text`/`details` events). Run in a thread on loopback."""
import asyncio
import json
import threading
import time

from aiohttp import web


class FakeLLMServer:
    def __init__(self):
        self.tokens = ["The", " answer", " is", " 4", ".", " So", " the", " final", " answer", " is:", " 4"]
        self.delay = 0.0
        self.fail_status = None
        self.requests = []
        self.disconnected_at = None
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _serve(self, ready):
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.openai)
        app.router.add_post("/generate_stream", self.tgi)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _stream(self, request, events):
        self.requests.append(await request.json())
        if self.fail_status:
            return web.json_response({"error": {"message": "model overloaded", "type": "server_error"}}, status=self.fail_status)
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
        events = [b"data: " + json.dumps({"object": "chat.completion.chunk",
                                         "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}).encode() + b"\n\n"
                  for t in self.tokens]
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
