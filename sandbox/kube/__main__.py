"""Run the simulated API server standalone: `python -m sandbox.kube --fixture FILE` or `--generate-*`.

The first stdout line is `KUBE_URL=http://127.0.0.1:PORT`; the server runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .fixtures import SAMPLE_FIXTURE, Fixture, generate_fixture, load_fixture
from .server import KubeApiServer
from .unkind import METRICS_API


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kube", description=__doc__)
    parser.add_argument("--fixture", help=f"YAML/JSON fixture (default: {SAMPLE_FIXTURE.name})")
    parser.add_argument("--generate-operators", type=int, metavar="N", help="generate N OperatorViews")
    parser.add_argument("--generate-clusters", type=int, default=3, metavar="C", help="over C clusters")
    parser.add_argument(
        "--generate-plugins", type=int, default=0, metavar="P", help="and P ModulePluginViews"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--registry", help="host:port the sample's images point at instead of its own")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--kubeconfig", help="also write a kubeconfig for the server here")
    parser.add_argument(
        "--unavailable-api",
        action="append",
        default=[],
        metavar="GROUP/VERSION",
        help=f"an aggregated API whose backend is down (503), e.g. {METRICS_API}; repeatable",
    )
    parser.add_argument(
        "--throttle",
        type=int,
        default=0,
        metavar="N",
        help="answer the first N requests 429 with Retry-After: 1",
    )
    return parser.parse_args(argv)


def _fixture(args: argparse.Namespace) -> Fixture:
    if args.generate_operators is not None:
        return generate_fixture(
            args.generate_operators, args.generate_clusters, args.generate_plugins, seed=args.seed
        )
    return load_fixture(args.fixture or SAMPLE_FIXTURE, registry=args.registry)


async def serve(args: argparse.Namespace) -> None:
    """Serve the fixture until a termination signal arrives."""
    fixture = _fixture(args)
    server = KubeApiServer(fixture.objects, fixture.resources)
    for group_version in args.unavailable_api:
        server.unavailable_api(group_version)
    if args.throttle:
        server.throttle(args.throttle)
    await server.start(args.host, args.port)
    if args.kubeconfig:
        server.write_kubeconfig(args.kubeconfig)
    print(f"KUBE_URL={server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m sandbox.kube`."""
    asyncio.run(serve(_parse(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
