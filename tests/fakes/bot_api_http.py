"""The in-process Bot API fake served over real HTTP on loopback, so a real bot process (tests, benchmarks) can
talk to it exactly as it talks to api.telegram.org (TELEGRAM_API_BASE_URL)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.bot_api import FakeBotApi

# PTB sends every parameter as a form field, JSON-encoding the non-strings; these are strings by the Bot API.
_STRING_PARAMS = {"text", "caption", "parse_mode", "callback_query_id", "language_code", "url", "secret_token",
                  "description", "short_description", "name", "title", "emoji", "inline_message_id",
                  "business_connection_id", "message_effect_id", "file_id", "action"}


@dataclass
class _Data:
    parameters: dict[str, Any]
    multipart_data: dict[str, Any] = field(default_factory=dict)


def _decode(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _handle(api: FakeBotApi, request: Request) -> Response:
    url = str(request.url)
    if request.method == "GET":
        status, body = await api.do_request(url, "GET")
        return Response(body, status_code=status)
    params: dict[str, Any] = {}
    files: dict[str, Any] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        params = await request.json()
    else:
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = (value.filename, await value.read(), value.content_type)
            else:
                params[key] = _decode(key, value)
    status, body = await api.do_request(url, "POST", _Data(params, files))  # type: ignore[arg-type]
    return Response(body, status_code=status, media_type="application/json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve_bot_api(api: FakeBotApi) -> AsyncIterator[str]:
    """Serve ``api`` on loopback; yields the TELEGRAM_API_BASE_URL to use (token appended by PTB)."""

    async def endpoint(request: Request) -> Response:
        return await _handle(api, request)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no startup event to wait on)
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        api.release_pollers()  # a pending long poll would otherwise hold the shutdown for its whole timeout
        server.should_exit = True
        await task
