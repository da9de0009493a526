"""A STAND-IN for the platform's web address (`REGCLEAN_PLATFORM_URL`, violet's `--platform-address`):
an HTTPS server with a certificate from the sandbox's platform CA, answering as ACP's console does
(its login page at `/`, 200). It holds no API: violet's push stays with the violet stand-in.

`regclean doctor` asks only whether the address answers over verified TLS; `stop()` makes it refuse
connections, as an address nobody listens on does.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from aiohttp import web

from sandbox.registry.tls import SandboxCA

CONSOLE_HOST = "127.0.0.10"
PAGE = "<!doctype html><title>Alauda Container Platform</title><div id=app></div>"


class PlatformConsole:
    """The platform's console page over HTTPS on 127.0.0.10 (any port)."""

    def __init__(self, directory: Path, host: str = CONSOLE_HOST) -> None:
        self.ca = SandboxCA(directory)
        self.host = host
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request: the doctor sends no credentials and posts nothing."""
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        """Listen; `url` is then `https://127.0.0.10:PORT`."""
        cert, key = self.ca.issue("console", [self.host])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._page)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=context)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"https://{self.host}:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _page(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        return web.Response(text=PAGE, content_type="text/html")
