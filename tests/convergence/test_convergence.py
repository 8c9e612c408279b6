"""Randomized convergence: phones on both protocols and a Xero user working at once end up agreeing.

For each seed, a fresh organisation (ledgersync admin + sandbox tenant) gets native reference phones and
WatermelonDB apps (the real package, in Node). ``random.Random(seed)`` then picks the steps: offline
creates, edits and clears of customers, invoices and their edits, payments, voids, payment and customer
deletions; a Xero user's edits, payments, voids and archives (the sandbox's control API); lost push
answers (phone side) and answers Xero drops after committing (sandbox faults); forwarding-worker kills;
syncs, pauses and mirror pulls. At the end everyone syncs, forwarding drains, and each invariant of
``checks.py`` is judged on its own.

    LEDGERSYNC_CONVERGENCE_SEEDS=1-7        # seeds 1..7 (or one seed: 42; or a list: 3,11,42)
    LEDGERSYNC_CONVERGENCE_STEPS=80         # steps per seed
    LEDGERSYNC_CONVERGENCE_DEVICES=2,2      # native, WatermelonDB devices per seed (the default)

A failure prints the seed, the failed invariants with the records concerned, and the action log: rerun
with ``LEDGERSYNC_CONVERGENCE_SEEDS=<seed>`` (and the same steps) to reproduce it. ``./dev bench
convergence`` runs a larger set.

Invariants today's code is known to break (issue 14) are in ``KNOWN_FAILING``: their failures are
reported as a ``KnownFailing`` warning (with -s, with the seeds' logs) and the test passes; remove an
entry once its fix is merged and the check must hold.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.http.serving import ServerThread
from server.settings import Settings
from tests.convergence.checks import CHECKS, Final, check_a_quiet_feed_stops_moving
from tests.convergence.devices import NodeDriver, WatermelonDevice
from tests.convergence.world import Servers, Worker, World
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import fast, free_port, point_at

# check name -> why it fails on today's code (issue 14). Delete an entry when its fix is merged: the check
# must then hold for every seed. Unlisted checks must hold today.
KNOWN_FAILING: dict[str, str] = {}


class KnownFailing(UserWarning):
    """Invariants in KNOWN_FAILING failed for some seed (expected on today's code)."""


def seeds() -> list[int]:
    found: list[int] = []
    for part in os.environ.get("LEDGERSYNC_CONVERGENCE_SEEDS", "1-3").split(","):
        first, _, last = part.strip().partition("-")
        if first:
            found += range(int(first), int(last or first) + 1)
    return found


def steps() -> int:
    return int(os.environ.get("LEDGERSYNC_CONVERGENCE_STEPS", "40"))


def device_counts() -> tuple[int, int]:
    native, watermelon = os.environ.get("LEDGERSYNC_CONVERGENCE_DEVICES", "2,2").split(",")
    return int(native), int(watermelon)


@pytest.fixture
def settings(settings: Settings, xero_sandbox: RunningSandbox) -> Settings:
    # Only the worker process forwards, so it can be killed; the server wakes nobody.
    return point_at(settings, xero_sandbox, free_port()).replace(forwarding_workers=0)


@pytest.fixture
def ledgersync(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(fast(create_app(settings)), port=settings.port) as server:
        yield server


@pytest.fixture(scope="session")
async def node_driver() -> AsyncIterator[NodeDriver]:
    driver = await NodeDriver.start()
    yield driver
    await driver.stop()


@pytest.fixture
def worker(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Worker]:
    folder = Path("test-artifacts") / "convergence"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"forwarding-worker-{request.node.callspec.id}.log"
    log.unlink(missing_ok=True)
    running = Worker(settings, log)
    running.ensure_running()
    yield running
    running.stop()


async def final_state(world: World) -> Final:
    for device in world.devices:
        if isinstance(device, WatermelonDevice):
            await device.load()
    fresh_native = await world.pair_native("fresh-native")
    await fresh_native.phone.refresh()
    fresh_watermelon = None
    if world.servers.driver is not None:
        fresh_watermelon = await world.pair_watermelon("fresh-wm")
        await fresh_watermelon.sync()
        await fresh_watermelon.load()
    return Final(
        server=fresh_native.records(),
        fresh_native=fresh_native,
        fresh_watermelon=fresh_watermelon,
        contacts=world.xero_contacts(),
        invoices=world.xero_invoices(),
        payments=world.xero_payments(),
        uploads=await world.uploads(),
        conflicts=await world.conflicts(),
    )


async def run_seed(seed: int, servers: Servers, count: int) -> dict[str, list[str]]:
    """Plays one seed; returns the problems of each invariant that does not hold."""
    native, watermelon = device_counts()
    world = await World.create(seed, servers, native, watermelon)
    failures: dict[str, list[str]] = {}
    final: Final | None = None
    try:
        for _ in range(count):
            await world.step()
        await world.converge()
        final = await final_state(world)
        for check in CHECKS:
            problems = check(world, final)
            if problems:
                failures[check.__name__] = problems
        quiet = await check_a_quiet_feed_stops_moving(world, final)
        if quiet:
            failures[check_a_quiet_feed_stops_moving.__name__] = quiet
    finally:
        if failures or os.environ.get("LEDGERSYNC_CONVERGENCE_VERBOSE"):
            print(f"\n=== seed {seed}, {count} steps: {sorted(failures)} ===")
            for name, problems in sorted(failures.items()):
                print(f"--- {name}{' (known failing)' if name in KNOWN_FAILING else ''}:")
                for problem in problems[:15]:
                    print(f"    {problem}")
            print(f"--- forwarding worker's log: {servers.worker.log_path}")
            print("--- action log:")
            print("\n".join(world.log))
        if final is not None:
            await final.fresh_native.close()
            if isinstance(final.fresh_watermelon, WatermelonDevice):
                await final.fresh_watermelon.close()
        await world.close()
    return failures


@pytest.mark.slow
async def test_phones_on_both_protocols_and_a_xero_user_converge_for_every_seed(
    ledgersync: ServerThread,
    settings: Settings,
    xero_sandbox: RunningSandbox,
    node_driver: NodeDriver,
    worker: Worker,
) -> None:
    servers = Servers(ledgersync.base_url, settings, xero_sandbox, worker, node_driver)
    count = steps()
    by_seed = {seed: await run_seed(seed, servers, count) for seed in seeds()}

    unexpected = {
        seed: {name: problems for name, problems in failures.items() if name not in KNOWN_FAILING}
        for seed, failures in by_seed.items()
    }
    unexpected = {seed: failures for seed, failures in unexpected.items() if failures}
    if unexpected:
        summary = "; ".join(
            f"seed {seed}: "
            + ", ".join(f"{name} ({problems[0][:200]})" for name, problems in failures.items())
            for seed, failures in unexpected.items()
        )
        pytest.fail(f"{count} steps per seed: {summary} (the seeds' logs are printed above)", pytrace=False)
    known = sorted({name for failures in by_seed.values() for name in failures})
    if known:
        # A warning, not pytest.xfail: tests/fixtures/databases.py counts an xfail as a skipped PostgreSQL
        # test, which fails a CI run.
        warnings.warn(KnownFailing("; ".join(f"{n} ({KNOWN_FAILING[n]})" for n in known)), stacklevel=1)
