"""Bot API requests as JSON bodies.

PTB's HTTPXRequest sends every call as a form: each parameter JSON-encoded on its own, then percent-encoded, so a
customer card in Chinese with its keyboard travels as ~3 KB of ``%E5%8E%A6…`` that both ends must encode and
decode (~100 µs a card here, plus the bytes). The Bot API takes an ``application/json`` body just as well: one
``json.dumps`` of the parameters with UTF-8 kept as is — about a third of the size, half the CPU. Uploads still go
as multipart forms, which only PTB's path builds.
"""

from __future__ import annotations

import json

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData


class JsonHTTPXRequest(HTTPXRequest):
    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files:
            return await super().do_request(url, method, request_data, read_timeout,  # type: ignore[arg-type]
                                            write_timeout, connect_timeout, pool_timeout)  # type: ignore[arg-type]
        defaults = self._client.timeout

        def pick(value: object, default: float | None) -> float | None:
            # Any of PTB's "not given" markers (DefaultValue instances), not just DEFAULT_NONE.
            return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value  # type: ignore[return-value]

        timeout = httpx.Timeout(connect=pick(connect_timeout, defaults.connect), read=pick(read_timeout, defaults.read),
                                write=pick(write_timeout, defaults.write), pool=pick(pool_timeout, defaults.pool))
        body = json.dumps(request_data.parameters, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            res = await self._client.request(
                method=method, url=url, content=body, timeout=timeout,
                headers={"User-Agent": self.USER_AGENT, "Content-Type": "application/json"})
        except httpx.TimeoutException as err:
            if isinstance(err, httpx.PoolTimeout):
                raise TimedOut("Pool timeout: every connection in the pool is busy; the request was not sent.") \
                    from err
            raise TimedOut from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        return res.status_code, res.content
