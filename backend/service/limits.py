"""The service's limits: request bodies (larger ones get 413 before the application reads them) and the queue."""

from __future__ import annotations

import json

MAX_BODY_BYTES = 1 << 20  # a job request is well under a kilobyte; the limit leaves room for long paths
MAX_QUEUE = 32  # jobs waiting behind the running one; more are refused (429) until some have run


class BodyLimit:
    """ASGI middleware: refuse (413) a request whose body is over ``max_bytes``, announced or streamed; the paths
    in ``streamed`` read their bodies themselves."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES, streamed: tuple[str, ...] = ()) -> None:
        self.app, self.max_bytes, self.streamed = app, max_bytes, streamed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.streamed:
            # a route that streams its body to disk under its own limit (uploads)
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        announced = headers.get(b"content-length")
        if announced is not None and announced.isdigit() and int(announced) > self.max_bytes:
            await self._refuse(send)
            return
        body, more, last = bytearray(), True, None
        while more:  # small bodies only: read them here, so that a streamed one cannot grow past the limit
            last = await receive()
            if last["type"] != "http.request":
                break
            body += last.get("body", b"")
            more = last.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        queued = [{"type": "http.request", "body": bytes(body), "more_body": False}]
        if last is not None and last["type"] != "http.request":
            queued.append(last)  # a disconnect, passed on after what came before it

        async def replay():
            return queued.pop(0) if queued else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {
                "detail": f"The request is too large: at most {self.max_bytes // 1024} KB.",
                "code": "request_too_large",
                "params": {"max_bytes": self.max_bytes},
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
