"""A model server's Prometheus `/metrics` for the tests, in a thread on loopback: the text is
whatever the test sets (vLLM's shape by default), with a settable status, or no answer at all."""
import asyncio

from aiohttp import web

from fake_llm_servers import LoopbackServer


def vllm_metrics(models):
    """vLLM V1's exposition for {model_name: (running, waiting, kv_cache_usage)}: HELP and TYPE
    lines, labels per engine and model, a histogram and Python's own metrics around them."""
    lines = [
        "# HELP python_gc_objects_collected_total Objects collected during gc",
        "# TYPE python_gc_objects_collected_total counter",
        'python_gc_objects_collected_total{generation="0"} 8123.0',
    ]
    for name, index, help_text in [("num_requests_running", 0, "Number of requests in model execution batches."),
                                   ("num_requests_waiting", 1, "Number of requests waiting to be processed."),
                                   ("kv_cache_usage_perc", 2, "KV-cache usage. 1 means 100 percent usage.")]:
        lines += [f"# HELP vllm:{name} {help_text}", f"# TYPE vllm:{name} gauge"]
        lines += [f'vllm:{name}{{engine="0",model_name="{model}"}} {float(values[index])}' for model, values in models.items()]
    lines += ["# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.",
              "# TYPE vllm:time_to_first_token_seconds histogram"]
    for model in models:
        lines += [f'vllm:time_to_first_token_seconds_bucket{{engine="0",le="0.1",model_name="{model}"}} 3.0',
                  f'vllm:time_to_first_token_seconds_bucket{{engine="0",le="+Inf",model_name="{model}"}} 5.0',
                  f'vllm:time_to_first_token_seconds_count{{engine="0",model_name="{model}"}} 5.0',
                  f'vllm:time_to_first_token_seconds_sum{{engine="0",model_name="{model}"}} 0.9']
    return "\n".join(lines) + "\n"


class FakeMetricsServer(LoopbackServer):
    """`GET /metrics` (and any other path) answers `text` with `status`; `hang` holds every
    request open without an answer. `requests` counts what was asked."""

    def __init__(self, text="", status=200, hang=False):
        self.text = text
        self.status = status
        self.hang = hang
        self.requests = []
        super().__init__()

    def routes(self, app):
        app.router.add_get("/{path:.*}", self.metrics)

    async def metrics(self, request):
        self.requests.append(request.path)
        if self.hang:
            await asyncio.sleep(3600)
        return web.Response(body=self.text.encode(), status=self.status,
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

