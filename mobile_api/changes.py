"""``GET /mobile/v1/changes``: Refresh from Cloud, the pull side of the protocol."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from mobile_api.auth import provide_device, require_device, require_protocol
from mobile_api.compression import COMPRESSED_BY_HANDLER, compress, negotiate
from mobile_api.examples import PULL_RESPONSE
from server.core.principals import DevicePrincipal
from server.core.pull import DEFAULT_LIMIT, MAX_LIMIT
from server.http.errors import error_response
from server.http.services import services_of
from sync_protocol.messages import PullResponse

MAX_CURSOR = 2**53  # cursors stay exact as JSON numbers in every client language


class ChangesController(Controller):
    path = "/mobile/v1/changes"
    tags = ["mobile"]
    guards = [require_protocol, require_device]
    dependencies = {"device": Provide(provide_device)}

    @get(
        "/",
        summary="Pull changes after a cursor",
        description=(
            "Every record that changed after `cursor`, oldest version first, at most `limit`. "
            "Without a cursor: a snapshot (no tombstones) and the cursor to go on from. Pull again "
            "while `has_more`. Send the last ETag as `If-None-Match` to get 304 when nothing changed. "
            "A cursor older than the tombstone horizon or from before a mirror reset: 409 `resync_required`. "
            "Pages are compressed with zstd or gzip as `Accept-Encoding` allows (zstd preferred)."
        ),
        opt={COMPRESSED_BY_HANDLER: True},
        responses={
            200: ResponseSpec(
                data_container=PullResponse,
                description="A page of changes",
                generate_examples=False,
                examples=[Example(summary="Two changes", value=PULL_RESPONSE)],
            ),
            304: ResponseSpec(data_container=None, description="Nothing changed since this ETag"),
            409: error_response("The cursor must resync (`resync_required`)"),
        },
    )
    async def changes(
        self,
        state: State,
        device: NamedDependency[DevicePrincipal],
        cursor: Annotated[
            int, QueryParameter(ge=0, le=MAX_CURSOR, description="Cursor of the last pull; 0: snapshot")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Most changes in this page")] = (
            DEFAULT_LIMIT
        ),
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)] = None,
        accept_encoding: Annotated[
            str | None, HeaderParameter(name="Accept-Encoding", required=False)
        ] = None,
    ) -> Response[bytes] | Stream:
        pulls = services_of(state).pulls
        # Before the pull: its snapshot holds a connection until the stream ends; recording the sync
        # after it would hold a second one per request and starve the pool under many phones.
        await services_of(state).devices.synced(device)
        body = await pulls.pull(device.organisation_id, cursor, limit, if_none_match, device.feed_counter)
        headers = {"ETag": body.etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
        if body.chunks is None:
            return Response(b"", status_code=304, headers=headers)
        # An empty page is smaller than any compression header; pages with rows are worth it.
        encoding = "identity" if body.caught_up else negotiate(accept_encoding)
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        return Stream(compress(body.chunks, encoding), media_type=MediaType.JSON, headers=headers)
