"""``POST /mobile/v1/pair``: a phone trades a one-time pairing code for its device token."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg

from mobile_api.auth import require_protocol
from mobile_api.bodies import strict_body
from server.http.errors import error_response
from server.http.input_guard import STRICT_BODY
from server.http.services import services_of
from sync_protocol.messages import PairRequest, PairResponse
from sync_protocol.version import PROTOCOL_VERSION


class PairingController(Controller):
    path = "/mobile/v1/pair"
    tags = ["mobile"]
    guards = [require_protocol]

    @post(
        "/",
        summary="Pair this phone",
        description=(
            "Trades a one-time pairing code (from the admin API) for a long-lived device token. "
            "Send the token as `Authorization: Bearer <token>` on every other mobile request."
        ),
        status_code=201,
        opt={STRICT_BODY: PairRequest},  # decoded once, strictly, by the input guard
        responses={
            400: error_response("Malformed body or unsupported protocol version"),
            401: error_response("Pairing code unknown, expired or used (`pairing_code_invalid`)"),
            429: error_response("Too many wrong codes from this address (`rate_limited`, `Retry-After`)"),
        },
    )
    async def pair(
        self,
        request: Request[Any, Any, State],
        state: State,
        data: Annotated[
            PairRequest,
            BodyKwarg(
                media_type=RequestEncodingType.JSON,
                examples=[
                    Example(summary="Pair", value={"code": "KQ7MX-P2DRT", "device_name": "Sam's phone"})
                ],
            ),
        ],
    ) -> PairResponse:
        body = await strict_body(request, PairRequest)
        devices = services_of(state).devices
        # Guessing codes is what this limits: every attempt takes a token, a success gives it back.
        limiter = services_of(state).pairing_rate_limiter
        address = request.client.host if request.client else "unknown"
        limiter.check(address, "too many wrong pairing codes from this address; wait, then try again")
        paired = await devices.pair(body.code, body.device_name)
        limiter.refund(address)
        return PairResponse(
            device_id=str(paired.principal.device_id),
            token=paired.token,
            organisation_id=str(paired.principal.organisation_id),
            staff_name=paired.principal.staff_name,
            protocol_version=PROTOCOL_VERSION,
        )
