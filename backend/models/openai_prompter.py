"""A prompter served by any OpenAI-compatible chat server: vLLM, SGLang, Ollama, llama.cpp, ``transformers serve``.

``--prompter openai:<base_url>[#<model>]`` (for example ``openai:http://gpu:8000/v1#RicardoString/Think2Seg-RS-7B``;
without ``#model``, the first model the server lists). The API key comes from ``$THINK2MAP_OPENAI_API_KEY``
(or ``$OPENAI_API_KEY``). Each tile is one chat completion with the exact Think2Seg-RS messages and the
840×840 tile as a base64 PNG, greedy; the answer goes through the same parser as the built-in engine. Tiles of
a batch are sent concurrently, so the server's continuous batching does the batching. The answer grammar is
passed where the server takes one (vLLM's ``structured_outputs``), and left out where it is refused.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

import numpy as np

import contract

from ..errors import ModelError
from .answer_grammar import AnswerGrammar
from .prompter import Prompter, to_model_image
from .prompts import (
    MODEL_IMAGE_SIZE,
    REFERENCE_MAX_NEW_TOKENS,
    SYSTEM_PROMPT,
    PromptResult,
    parse_answer,
    user_text,
)
from .remote_spec import RemoteSpec

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 300.0
MAX_RETRIES = 4  # the client backs off exponentially on 429, 5xx and dropped connections
CONNECT_TIMEOUT_S = 10.0
PROMPT_TOKENS = 1122  # the Think2Seg-RS prompt with one 840×840 image, for the context-length message
# A served answer is capped before it is parsed or stored: far above what the model writes for a tile (a few
# thousand characters of reasoning), far below what would slow a run or fill a report.
MAX_ANSWER_CHARS = 32_000


class ServedAnswerError(RuntimeError):
    """The server answered, but not with a chat completion: the server's fault, said in one sentence."""


def png_data_url(image: np.ndarray) -> str:
    """The tile as the model sees it (840×840 LANCZOS), as a base64 PNG data URL."""
    buffer = io.BytesIO()
    to_model_image(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chat_request(image: np.ndarray, query: str) -> list[dict]:
    """The exact Think2Seg-RS conversation, with the image as an ``image_url`` part."""
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": png_data_url(image)}},
                {"type": "text", "text": user_text(query)},
            ],
        },
    ]


def answer_text(message: Any) -> str:
    """The whole answer: servers that split reasoning off (``reasoning_content``) get it put back in front."""
    content = getattr(message, "content", None) or ""
    extra = getattr(message, "model_extra", None) or {}
    reasoning = getattr(message, "reasoning_content", None) or extra.get("reasoning_content") or ""
    if reasoning and "<think>" not in content:
        return f"<think>{reasoning}</think>\n{content}"
    return content


class OpenAIPrompter(Prompter):
    """Think2Seg-RS behind an OpenAI-compatible server (see the module docstring)."""

    def __init__(
        self,
        spec: RemoteSpec | str,
        max_new_tokens: int | None = None,
        concurrency: int = contract.SERVED_CONCURRENCY_DEFAULT,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        api_key: str | None = None,
        constrain: bool = True,
        extra_body: dict | None = None,
    ) -> None:
        self.spec = spec if isinstance(spec, RemoteSpec) else RemoteSpec.parse(spec)
        self.max_new_tokens = int(max_new_tokens or REFERENCE_MAX_NEW_TOKENS)
        self.batch_size = self.concurrency = max(1, int(concurrency))
        self.timeout_s = timeout_s
        self.api_key = api_key or os.environ.get("THINK2MAP_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or "-"
        self.extra_body = dict(extra_body or {})
        self.grammar = AnswerGrammar() if constrain else None
        self._grammar_accepted: bool | None = None  # unknown until the server answers a request that carries it
        self.should_cancel: Callable[[], bool] = lambda: False
        self._lock = threading.Lock()
        self._client = self._new_client()
        served = self.served_models()  # at load: an unreachable server or a refused key is said at once
        if not self.spec.model and not served:
            raise ModelError(f"the server at {self.spec.base_url} serves no model", "bad_model")
        self.model = self.spec.model or served[0]
        self.name = f"openai:{self.model}"
        self.device = "remote"

    # --- setup -------------------------------------------------------------------------------------------
    def _new_client(self):
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise ModelError(
                f"the openai prompter needs the openai package ({exc}): pip install openai", "model_load_failed"
            ) from None
        import httpx

        # A connection is made in seconds or not at all; an answer may take the whole deadline to be generated.
        timeout = httpx.Timeout(self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s))
        return OpenAI(base_url=self.spec.base_url, api_key=self.api_key, max_retries=MAX_RETRIES, timeout=timeout)

    def served_models(self) -> list[str]:
        """The model names the server lists (``GET /models``); a clear ``ModelError`` when it cannot be asked.

        Asked once without retries first: a refused connection (nobody listening) is said at once, where the
        client's back-off would wait seconds for a server that is not there; other failures are retried.
        """
        try:
            return [m.id for m in self._client.with_options(max_retries=0).models.list()]
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence
            if _refused(exc):
                raise ModelError(self._describe(exc), "model_load_failed") from None
        try:
            return [m.id for m in self._client.models.list()]
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence
            raise ModelError(self._describe(exc), "model_load_failed") from None

    def bind_cancel(self, should_cancel: Callable[[], bool]) -> None:
        """The job's cancel flag: requests still in flight are aborted when it turns true."""
        self.should_cancel = should_cancel

    # --- prompting ---------------------------------------------------------------------------------------
    def prompt(
        self, images: Sequence[np.ndarray], query: str | Sequence[str], tiles: Sequence | None = None
    ) -> list[PromptResult]:
        queries = [query] * len(images) if isinstance(query, str) else list(query)
        if not images:
            return []
        results: list[PromptResult | None] = [None] * len(images)
        todo = list(range(len(images)))
        if self.grammar is not None and self._grammar_accepted is None:
            # The first request finds out whether the server takes the grammar; the others follow it.
            first = self._send_all([todo.pop(0)], images, queries, results)
            todo = todo if first else []
        if todo:
            self._send_all(todo, images, queries, results)
        return [r if r is not None else PromptResult.cancelled() for r in results]

    def _send_all(self, indices: list[int], images, queries, results: list) -> bool:
        """Send the tiles ``indices``, ``concurrency`` at a time, until each has its answer or its deadline has
        passed; False when the job was cancelled meanwhile.

        Each request runs on a daemon thread: a server that stalls holds a thread, never the run, and not the
        process at exit. On cancel or a deadline the request is abandoned (a new client serves later calls).
        """
        waiting = list(indices)
        running: dict[Future, tuple[int, float]] = {}
        while waiting or running:
            while waiting and len(running) < self.concurrency:
                i = waiting.pop(0)
                running[_on_daemon_thread(self._one, images[i], queries[i])] = (i, time.monotonic())
            done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                i, _ = running.pop(future)
                results[i] = self._result(future)
            now = time.monotonic()
            for future, (i, started) in list(running.items()):
                if now - started > self.timeout_s:  # retries included: a tile waits no longer than this in all
                    running.pop(future)
                    results[i] = PromptResult.failure(
                        f"the prompter server at {self.spec.base_url} did not answer within {self.timeout_s:.0f} s"
                    )
                    self._abort()
            if (waiting or running) and self.should_cancel():
                self._abort()
                return False
        return True

    def _result(self, future) -> PromptResult:
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - one tile's failure is that tile's report
            return PromptResult.failure(self._describe(exc))

    def _abort(self) -> None:
        """A new client for later calls; the old one's connections close as its requests end."""
        with self._lock:
            self._client = self._new_client()

    def _one(self, image: np.ndarray, query: str) -> PromptResult:
        height, width = np.asarray(image).shape[:2]
        text = self._complete(chat_request(image, query))
        if not text.strip():
            return PromptResult([], text, "unparseable", ["the server returned no text"])
        warnings = []
        if len(text) > MAX_ANSWER_CHARS:
            warnings.append(f"the answer was cut to its first {MAX_ANSWER_CHARS:,} of {len(text):,} characters")
            text = text[:MAX_ANSWER_CHARS]
        parsed = parse_answer(text, MODEL_IMAGE_SIZE, MODEL_IMAGE_SIZE)  # reads the first MAX_INSTANCES
        parsed.warnings = [*parsed.warnings, *warnings]
        return parsed.scaled(width / MODEL_IMAGE_SIZE, height / MODEL_IMAGE_SIZE)

    def _complete(self, messages: list[dict]) -> str:
        from openai import BadRequestError, UnprocessableEntityError

        extra = dict(self.extra_body)
        grammar = self.grammar is not None and self._grammar_accepted is not False
        if grammar:
            extra["structured_outputs"] = {"grammar": self.grammar.ebnf()}  # vLLM (xgrammar or guidance)
        with self._lock:
            client = self._client
        started = time.perf_counter()
        try:
            reply = client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                max_tokens=self.grammar.max_chars + 1 if grammar and self.grammar else self.max_new_tokens,
                extra_body=extra or None,
            )
        except (BadRequestError, UnprocessableEntityError) as exc:
            if grammar and self._grammar_accepted is None:  # refused with the grammar: try once without it
                body = getattr(getattr(exc, "response", None), "text", "") or str(exc)
                log.info("the server refused the answer grammar (%s); trying without it", body[:200])
                self._grammar_accepted = False
                try:
                    return self._complete(messages)
                except (BadRequestError, UnprocessableEntityError):
                    self._grammar_accepted = None  # not the grammar's fault after all
                    raise
            raise
        if grammar:
            self._grammar_accepted = True
        log.debug("completion in %.2f s", time.perf_counter() - started)
        choices = getattr(reply, "choices", None)
        if not isinstance(choices, list) or not choices or getattr(choices[0], "message", None) is None:
            raise ServedAnswerError(
                f"the prompter server at {self.spec.base_url} answered, but not with a chat completion "
                "(no choices with a message): is the URL its OpenAI-compatible /v1?"
            )
        message = choices[0].message
        if getattr(message, "content", None) is None and not answer_text(message):
            raise ServedAnswerError(f"the prompter server at {self.spec.base_url} answered with no text (content null)")
        return answer_text(message)

    def _describe(self, exc: BaseException) -> str:
        """One sentence for a failed request."""
        import openai

        where = self.spec.base_url
        if isinstance(exc, ServedAnswerError):
            return str(exc)
        if isinstance(exc, openai.APITimeoutError):
            return f"the prompter server at {where} did not answer within {self.timeout_s:.0f} s"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach the prompter server at {where}: is it running, and is the URL right?"
        if isinstance(exc, openai.AuthenticationError):
            return f"the prompter server at {where} refused the API key (HTTP 401): set THINK2MAP_OPENAI_API_KEY"
        if isinstance(exc, openai.NotFoundError):
            model = getattr(self, "model", self.spec.model)
            return f"the prompter server at {where} does not serve '{model}' (HTTP 404){self._served_hint()}"
        text = str(exc)
        if isinstance(exc, openai.APIStatusError) and ("context" in text.lower() or "max_model_len" in text):
            return (
                f"the prompter server's context is too short for one tile ({PROMPT_TOKENS} prompt tokens plus the "
                f"answer): start it with a longer context (vLLM: --max-model-len 4096). The server said: {text[:200]}"
            )
        if isinstance(exc, openai.APIStatusError):
            body = getattr(exc.response, "text", "") or text
            return f"the prompter server at {where} answered HTTP {exc.status_code}: {body[:300]}"
        return f"the prompter server request failed: {type(exc).__name__}: {text[:300]}"

    def _served_hint(self) -> str:
        try:
            served = [m.id for m in self._client.models.list()]
        except Exception:  # noqa: BLE001 - only a hint
            return ""
        return f"; it serves: {', '.join(served)}" if served else ""


def _refused(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a refused connection."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionRefusedError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _on_daemon_thread(function: Callable, *args) -> Future:
    """Run ``function(*args)`` on a daemon thread; its result (or exception) in the returned future."""
    future: Future = Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=work, name="think2map-openai", daemon=True).start()
    return future
