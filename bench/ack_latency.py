"""Acknowledgement latency of slash commands while a large inventory is being recorded.

Four processes, so that nothing but the bot shares the bot's event loop: the bot
(`regclean serve`, HTTP mode), the simulated Kubernetes API with 10,000 operatorviews over
100 clusters and 1,000 plugins, the simulated Slack workspace (which receives everything the
bot posts), and this one, which sends signed slash commands from 20 concurrent senders.

Each sender posts at random (Poisson) times, RATE_PER_SENDER commands a second on average:
an open load, so the latency measured is the bot's and not a queue's. The commands are an
operator's `status`, `help`, and a stranger's refused `inventory`, so authorization and the
store are on the path. The inventory is recorded ROUNDS times back to back; only commands
sent and acknowledged while a recording was running are counted. The baseline is Slack's
own limit for an acknowledgement, 3,000 ms.

Run: .venv/bin/python bench/ack_latency.py      Last line: p99_ack_ms=N   (target ≤ 50)
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.bot_process import ServeProcess  # noqa: E402
from sandbox.people import APPROVERS, OPERATORS  # noqa: E402
from sandbox.slack.signing import signed_headers  # noqa: E402
from sandbox.slack.workspace import BOT_TOKEN, SIGNING_SECRET  # noqa: E402

SENDERS = 20
RATE_PER_SENDER = float(os.environ.get("BENCH_RATE_PER_SENDER", "10"))
ROUNDS = 5
OPERATORS_COUNT, CLUSTERS, PLUGINS = 10_000, 100, 1_000
COMMANDS = (("UALICE", "status"), ("UOSCAR", "help"), ("UMALLORY", "inventory"))
DONE_PREFIXES = ("Inventory recorded", "inventory failed")


async def spawn(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE
    )


async def first_line(proc: asyncio.subprocess.Process, prefix: str) -> str:
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode().strip()
    if not line.startswith(prefix):
        raise SystemExit(f"a sandbox process did not start: {line!r}")
    return line.removeprefix(prefix)


class Slash:
    """Signs and posts slash commands as Slack does."""

    def __init__(self, session: aiohttp.ClientSession, events_url: str, slack_url: str) -> None:
        self.session, self.events_url, self.slack_url = session, events_url, slack_url

    async def __call__(self, user: str, text: str) -> int:
        body = urlencode(
            {
                "token": "verification",
                "team_id": "T0SANDBOX",
                "team_domain": "sandbox",
                "channel_id": "C0RUNBOOK",
                "channel_name": "platform-ops",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/regclean",
                "text": text,
                "api_app_id": "A0REGCLEAN",
                "is_enterprise_install": "false",
                "response_url": f"{self.slack_url}/response/bench",
                "trigger_id": f"bench.{random.random()}",
            }
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(SIGNING_SECRET, int(time.time()), body),
        }
        async with self.session.post(self.events_url, data=body, headers=headers) as response:
            await response.read()
            return response.status


class Window:
    """Whether an inventory is being recorded right now."""

    recording = False


async def sender(slash: Slash, number: int, done: asyncio.Event, out: list[float], errors: list[str]) -> None:
    rng = random.Random(number)
    i = 0
    while not done.is_set():
        await asyncio.sleep(rng.expovariate(RATE_PER_SENDER))  # open-loop arrivals
        user, text = COMMANDS[(number + i) % len(COMMANDS)]
        during = Window.recording
        started = time.perf_counter()
        status = await slash(user, text)
        elapsed = time.perf_counter() - started
        if status != 200:
            errors.append(f"{text}: HTTP {status}")
        elif during and Window.recording:
            out.append(elapsed)
        i += 1


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="regclean-bench-") as tmp:
        workdir = Path(tmp)
        kubeconfig = workdir / "kubeconfig"
        kube = await spawn(
            "-m",
            "sandbox.kube",
            "--generate-operators",
            str(OPERATORS_COUNT),
            "--generate-clusters",
            str(CLUSTERS),
            "--generate-plugins",
            str(PLUGINS),
            "--kubeconfig",
            str(kubeconfig),
        )
        slack = await spawn("-m", "sandbox.slack", *(a for p in DONE_PREFIXES for a in ("--watch", p)))
        procs = [kube, slack]
        bot: ServeProcess | None = None
        try:
            await first_line(kube, "KUBE_URL=")
            slack_url = await first_line(slack, "SLACK_URL=")
            env = {
                **os.environ,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": f"{slack_url}/api/",
                "SLACK_CHANNEL": "C0RUNBOOK",
                "REGCLEAN_OPERATORS": OPERATORS,
                "REGCLEAN_APPROVERS": APPROVERS,
                "KUBECONFIG": str(kubeconfig),
                "DATABASE_URL": f"sqlite:///{workdir / 'regclean.db'}",
                "REGCLEAN_LOG_LEVEL": "ERROR",
                # No pacing of thread posts: the summary that closes each window is posted as
                # soon as the inventory is stored, and the table posts add load, not waiting.
                "REGCLEAN_SLACK_POST_INTERVAL": "0",
            }
            bot = ServeProcess(env, workdir / "regclean-serve.log")  # on a free port, until /healthz answers
            try:
                url = await bot.serve()
            except RuntimeError as exc:
                raise SystemExit(str(exc)) from None
            assert slack.stdout is not None
            async with aiohttp.ClientSession() as session:
                slash = Slash(session, f"{url}/slack/events", slack_url)
                assert await slash("UALICE", "help") == 200  # warm-up: auth.test, first dispatch
                latencies: list[float] = []
                errors: list[str] = []
                done = asyncio.Event()
                senders = [
                    asyncio.create_task(sender(slash, n, done, latencies, errors)) for n in range(SENDERS)
                ]
                durations = []
                for _ in range(ROUNDS):
                    started = time.perf_counter()
                    Window.recording = True
                    assert await slash("UALICE", "inventory") == 200
                    line = (await asyncio.wait_for(slack.stdout.readline(), 300)).decode()
                    Window.recording = False
                    durations.append(time.perf_counter() - started)
                    if "failed" in line:
                        raise SystemExit(f"a recording failed: {line.strip()}")
                done.set()
                await asyncio.gather(*senders)
        finally:
            if bot is not None:
                await bot.stop()
                # What the bot logged (errors only) goes to this terminal, as when it wrote there itself.
                with bot.log_path.open() as log:
                    sys.stderr.writelines(line for line in log if not line.startswith("--- regclean serve"))
            for proc in procs:
                if proc.returncode is None:
                    proc.terminate()
                await proc.wait()

    if errors or len(latencies) < 100:
        print(f"not enough good samples: {len(latencies)} acknowledged, errors: {errors[:5]}")
        return 1
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(
        f"inventory of {OPERATORS_COUNT:,} operatorviews over {CLUSTERS} clusters + {PLUGINS:,} plugins, "
        f"{ROUNDS} times: {', '.join(f'{d:.2f}' for d in durations)} s"
    )
    print(
        f"{len(ms)} slash commands from {SENDERS} concurrent senders "
        f"({SENDERS * RATE_PER_SENDER:.0f}/s offered) acknowledged while recording"
    )
    print(f"baseline: Slack's acknowledgement limit, 3000 ms; p99 is {p99 / 3000:.3f} of it")
    print(f"p50_ack_ms={statistics.median(ms):.1f}")
    print(f"max_ack_ms={ms[-1]:.1f}")
    print(f"p99_ack_ms={p99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
