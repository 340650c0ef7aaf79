"""Our own StreameinsteinSynapse for the real bittensor dendrite, written from PROTOCOL.md §1.

It records every HTTP chunk as the server framed it (aiohttp's iter_chunks keeps chunk
boundaries) and decodes each chunk on its own, as the subnet's synapse decodes each read, so
a chunk that splits a UTF-8 character fails here as it would at a validator.
"""
from typing import List

import bittensor as bt
import pydantic


class StreameinsteinSynapse(bt.StreamingSynapse):
    roles: List[str]
    messages: List[str]
    completion: str = ""
    required_hash_fields: List[str] = ["messages"]
    # Not a field: nothing of it travels in the request body.
    _chunks: List[str] = pydantic.PrivateAttr(default_factory=list)

    @property
    def chunks(self) -> List[str]:
        return self._chunks

    async def process_streaming_response(self, response):
        if self.completion is None:
            self.completion = ""
        buffer = b""
        async for data, end_of_chunk in response.content.iter_chunks():
            buffer += data
            if end_of_chunk and buffer:  # the terminating zero-length chunk carries no text
                text = buffer.decode("utf-8")  # strict: a split character raises
                buffer = b""
                self._chunks.append(text)
                self.completion += text
                yield text

    def deserialize(self):
        return self.completion

    def extract_response_json(self, response) -> dict:
        headers = {k.decode("utf-8"): v.decode("utf-8") for k, v in response.__dict__["_raw_headers"]}

        def header(prefix):
            return {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}

        return {
            "name": headers.get("name", ""),
            "timeout": float(headers.get("timeout", 0)),
            "total_size": int(headers.get("total_size", 0)),
            "header_size": int(headers.get("header_size", 0)),
            "dendrite": header("bt_header_dendrite_"),
            "axon": header("bt_header_axon_"),
            "roles": self.roles,
            "messages": self.messages,
            "completion": self.completion,
        }
