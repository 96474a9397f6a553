"""The upstream's tokenizer, for refinements that bias tokens (``logit_bias``).

OpenAI's API has no tokenize endpoint, but the servers Lethe fronts do, outside ``/v1``:
vLLM's ``POST /tokenize`` and ``/detokenize``, llama-cpp-python's ``POST /extras/tokenize``
and ``/extras/detokenize``. The first that answers is remembered; an upstream with neither
raises :class:`TokenizerUnavailableError`, and the ``ban`` refinement then bans nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from server.errors import LetheError


class TokenizerUnavailableError(LetheError):
    """The upstream offers no tokenize endpoint Lethe knows."""

    status_code = 501
    error_type = "server_error"
    code = "tokenizer_unavailable"


@dataclass(frozen=True, slots=True)
class _Dialect:
    tokenize: str
    detokenize: str
    text_key: str  # where the detokenized text comes back

    def tokenize_body(self, model: str, text: str) -> dict[str, Any]:
        if self.tokenize == "tokenize":  # vLLM
            return {"model": model, "prompt": text, "add_special_tokens": False}
        return {"input": text}

    def detokenize_body(self, model: str, tokens: Sequence[int]) -> dict[str, Any]:
        body: dict[str, Any] = {"tokens": list(tokens)}
        if self.tokenize == "tokenize":
            body["model"] = model
        return body


DIALECTS = (
    _Dialect("tokenize", "detokenize", "prompt"),  # vLLM
    _Dialect("extras/tokenize", "extras/detokenize", "text"),  # llama-cpp-python
)


def server_root(base_url: str) -> str:
    """``http://host:8000/v1`` -> ``http://host:8000/``: where these endpoints live."""
    root = base_url.rstrip("/")
    root = root.removesuffix("/v1")
    return root + "/"


class UpstreamTokenizer:
    def __init__(self, client: httpx.AsyncClient, root: str, model: Callable[[], Awaitable[str]]):
        self._client = client
        self._root = root
        self._model = model
        self._dialect: _Dialect | None = None

    async def tokenize(self, text: str) -> list[int]:
        model = await self._model()
        for dialect in [self._dialect] if self._dialect else DIALECTS:
            response = await self._client.post(
                self._root + dialect.tokenize, json=dialect.tokenize_body(model, text)
            )
            if response.status_code == 200:
                self._dialect = dialect
                return [int(t) for t in response.json()["tokens"]]
        raise TokenizerUnavailableError("The upstream has no tokenize endpoint.")

    async def detokenize(self, tokens: Sequence[int]) -> str:
        if self._dialect is None:
            await self.tokenize("")
        assert self._dialect is not None
        dialect = self._dialect
        response = await self._client.post(
            self._root + dialect.detokenize,
            json=dialect.detokenize_body(await self._model(), tokens),
        )
        if response.status_code != 200:
            raise TokenizerUnavailableError("The upstream's detokenize endpoint failed.")
        return str(response.json()[dialect.text_key])
