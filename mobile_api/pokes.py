"""``GET /mobile/v1/pokes``: "your organisation's feed moved", as Server-Sent Events or a long poll.

The stream (``Accept: text/event-stream``, no ``wait``) sends ``event: poke`` with ``id:`` and
``data: {"version": V}`` whenever the feed moves, and a comment line as a heartbeat every
``poke_heartbeat_seconds``; reconnecting with ``Last-Event-ID`` pokes at once if the feed moved
meanwhile. The token is checked when the stream opens and the device again at each heartbeat (and
before a poke when the last check is a heartbeat interval old, for a stream poked too often to have
heartbeats): a device revoked while it holds the stream is sent ``event: revoked`` and the stream
ends, at most one heartbeat interval after the revocation. The long poll (``?wait=25&after=V``)
answers a ``PokeResponse`` as soon as the feed is past ``after``, or when ``wait`` seconds have
passed. Either way the phone then pulls as usual. The hub behind both is ``server.core.pokes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from mobile_api.auth import provide_device, require_device, require_protocol
from mobile_api.compression import COMPRESSED_BY_HANDLER
from server.core.principals import DevicePrincipal
from server.http.services import services_of
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import PokeResponse

MAX_VERSION = 2**53
MAX_WAIT = 60  # seconds; proxies commonly cut idle requests at 60-100 s
EVENT_STREAM = "text/event-stream"
RETRY_MS = 2000  # how soon an EventSource reconnects after a drop


def poke_event(version: int) -> bytes:
    return b'event: poke\nid: %d\ndata: {"version":%d}\n\n' % (version, version)


# The stream's last event for a device revoked while it held it; reconnecting is refused with this code.
REVOKED_EVENT = b'event: revoked\ndata: {"code":"%s"}\n\n' % ErrorCode.DEVICE_REVOKED.value.encode()


def _last_event_id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) <= MAX_VERSION else None


class PokesController(Controller):
    path = "/mobile/v1/pokes"
    tags = ["mobile"]
    guards = [require_protocol, require_device]
    dependencies = {"device": Provide(provide_device)}

    @get(
        "/",
        summary="Be poked when the feed moves",
        description=(
            "Without `wait`: a Server-Sent Events stream. Each time this device's organisation's feed "
            'moves it sends `event: poke`, `id: <version>`, `data: {"version": <version>}`; a comment '
            "line (`: heartbeat`) every 15 s keeps proxies from closing it. A device revoked while it "
            'holds the stream gets `event: revoked`, `data: {"code":"device_revoked"}` at the next '
            "heartbeat and the stream ends. The first event is the "
            "current version, unless `Last-Event-ID` names it already: reconnect with the last id "
            "received and a move made while away is poked at once. With `wait` (seconds): a long "
            "poll answering `{version, moved}` as soon as the version is past `after` (at once "
            "without `after`), or after `wait` seconds with `moved: false`. A poke carries no "
            "records: pull `GET /mobile/v1/changes` (or `synchronize()`) on each."
        ),
        opt={COMPRESSED_BY_HANDLER: True},  # compression would hold events back in its buffer
        cache=False,
        # The stream's type: Litestar gives a route's media type precedence over a Stream's own.
        media_type=EVENT_STREAM,
        responses={
            200: ResponseSpec(
                data_container=PokeResponse,
                description=(
                    "The long poll's answer (`wait` given); otherwise a `text/event-stream` of pokes"
                ),
                generate_examples=False,
                media_type=MediaType.JSON,
            ),
        },
    )
    async def pokes(
        self,
        state: State,
        device: NamedDependency[DevicePrincipal],
        wait: Annotated[
            int | None,
            QueryParameter(
                ge=0, le=MAX_WAIT, required=False, description="Long poll: seconds to wait at most"
            ),
        ] = None,
        after: Annotated[
            int | None,
            QueryParameter(
                ge=0,
                le=MAX_VERSION,
                required=False,
                description="Long poll: the version last seen; answered once the feed is past it",
            ),
        ] = None,
        last_event_id: Annotated[
            str | None,
            HeaderParameter(
                name="Last-Event-ID",
                required=False,
                description="Stream: the id of the last event received (a feed version)",
            ),
        ] = None,
    ) -> Response[PokeResponse] | Stream:
        services = services_of(state)
        pokes = services.pokes
        organisation_id = device.organisation_id
        if wait is not None:
            version = await pokes.wait(organisation_id, after, float(wait))
            answer = PokeResponse(version=version, moved=after is not None and version > after)
            return Response(answer, media_type=MediaType.JSON)
        heartbeat = services.settings.poke_heartbeat_seconds
        watching = pokes.watch(organisation_id, _last_event_id(last_event_id), heartbeat)
        devices = services.devices
        loop = asyncio.get_running_loop()

        async def events() -> AsyncIterator[bytes]:
            yield b"retry: %d\n\n" % RETRY_MS
            checked = loop.time()
            async for version in watching:
                # Heartbeats check the device; pokes only when a heartbeat interval passed without one,
                # so a fan-out to many streams costs no reads and a busy stream is still checked.
                if version is None or loop.time() - checked >= heartbeat:
                    if not await devices.still_paired(device.device_id):
                        yield REVOKED_EVENT
                        return
                    checked = loop.time()
                yield b": heartbeat\n\n" if version is None else poke_event(version)

        return Stream(
            events(),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
