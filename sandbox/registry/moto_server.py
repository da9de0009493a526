"""moto's S3 server (`python -m moto.server`'s application), served by waitress instead of
werkzeug's development server, and without a directory scan per request.

Two costs of `python -m moto.server` that have nothing to do with S3:

- werkzeug's development server answers every request with `Connection: close`, starts a thread
  for each connection, logs each request, and after each answer waits up to 10 ms for the client
  to hang up. A registry push is about 60 S3 requests, one after another. waitress keeps
  connections alive (HTTP/1.1, as MinIO does) and serves them from a fixed pool of threads.
- moto finds the backend for each request's Host header by listing its own package directory
  (`moto.backends.list_of_moto_modules`: an `os.listdir` and 200-odd `isdir` calls), every
  time. That directory does not change while the server runs, so the listing is taken once.

moto's S3 behaviour is its own either way: the same application object answers. Two differences
in how it is served:

- waitress drops request headers whose names contain `_` (werkzeug's server does too; moto's own
  handler puts them back, for S3 object metadata). Nothing in the sandbox sends such a header.
- A request with `Expect: 100-continue` and no body (boto3 sends one for an empty `put_object`)
  gets its answer without a `100 Continue` first, as from Go's net/http, which MinIO uses: it
  sends `100 Continue` only once the handler reads a body. (waitress 3.0 sends it and then never
  answers.)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import moto.backends
import waitress  # type: ignore[import-untyped]
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress.channel import HTTPChannel  # type: ignore[import-untyped]

THREADS = 8
"""Requests served at once; the registry uploads a push's blobs in parallel."""


class _Channel(HTTPChannel):  # type: ignore[misc]
    """waitress's connection, minus a `100 Continue` for a request whose body is complete already."""

    def send_continue(self) -> None:
        if self.request is not None and self.request.completed:
            self.request.expect_continue = False
            return
        super().send_continue()


def _memoize_module_listing() -> None:
    listing = getattr(moto.backends, "list_of_moto_modules", None)
    if callable(listing):
        modules = tuple(listing())
        moto.backends.list_of_moto_modules = lambda: modules


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.registry.moto_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # what moto's server sets for its own URLs
    _memoize_module_listing()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N"
    app = DomainDispatcherApplication(create_backend_app)
    print(f"moto S3 server on http://{args.host}:{args.port}", flush=True)
    server = waitress.create_server(app, host=args.host, port=args.port, threads=THREADS, ident="moto")
    server.channel_class = _Channel
    server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
