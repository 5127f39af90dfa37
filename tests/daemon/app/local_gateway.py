"""The scaffolding of a chat platform's stand-in on 127.0.0.1: an HTTP API (JSON in, JSON out) and a
WebSocket server the daemon dials out to, each on a thread of its own. ``dingtalk_server`` and
``feishu_server`` say what their platform answers and what a frame is."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

Answer = tuple[int, dict[str, Any], dict[str, str]]  # HTTP status, JSON body, headers


class LocalGateway:
    def __init__(self) -> None:
        self._socket: ServerConnection | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()  # quick shutdown
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"

    def api(self, path: str, headers: Any, body: dict[str, Any]) -> Answer:
        """The platform's answer to one HTTP call."""
        raise NotImplementedError

    def received(self, socket: ServerConnection, raw: str | bytes) -> None:
        """One frame the client sent over the WebSocket."""
        raise NotImplementedError

    def drop(self) -> None:
        """Closes the current socket from the server's side, as the platform does when it redeploys."""
        self._call(self._close())

    def send(self, raw: str | bytes) -> None:
        self._call(self._send(raw))

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        async with serve(self._accept, "127.0.0.1", 0) as server:
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stopped.wait()

    async def _accept(self, socket: ServerConnection) -> None:
        self._socket = socket
        assert socket.request is not None
        self.accepted(socket.request.path)
        async for raw in socket:
            self.received(socket, raw)

    def accepted(self, path: str) -> None:
        """A WebSocket accepted at ``path``."""

    async def _send(self, raw: str | bytes) -> None:
        assert self._socket is not None
        await self._socket.send(raw)

    async def _close(self) -> None:
        assert self._socket is not None
        await self._socket.close()

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, answer, headers = gateway.api(self.path, self.headers, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        return Handler
