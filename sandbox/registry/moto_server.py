"""`python -m moto.server`, minus a directory scan per request.

moto's server finds the backend for each request's Host header by listing its own package
directory (`moto.backends.list_of_moto_modules`: an `os.listdir` and 200-odd `isdir` calls), every
time. That directory does not change while the server runs, so this runs the same server with the
listing taken once: about a third less CPU per S3 request, which is most of what the sandbox's
registry costs the test suite. Without that function (another moto), it runs moto's server as is.
"""

from __future__ import annotations

import sys

import moto.backends
from moto.server import main


def _memoize_module_listing() -> None:
    listing = getattr(moto.backends, "list_of_moto_modules", None)
    if callable(listing):
        modules = tuple(listing())
        moto.backends.list_of_moto_modules = lambda: modules


if __name__ == "__main__":
    _memoize_module_listing()
    main(sys.argv[1:])
