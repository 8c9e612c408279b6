"""``POST /mobile/v1/mutations`` (push) and ``GET /mobile/v1/uploads/{mutation_id}`` (status)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, FromPath

from mobile_api.auth import provide_device, require_device, require_protocol
from mobile_api.bodies import strict_body
from mobile_api.examples import PUSH_REQUEST, PUSH_RESPONSE, UPLOAD_STATUS
from server.core.principals import DevicePrincipal
from server.http.errors import error_response
from server.http.input_guard import STRICT_BODY
from server.http.services import services_of
from sync_protocol.messages import PushRequest, PushResponse, UploadStatus


class MutationsController(Controller):
    path = "/mobile/v1"
    tags = ["mobile"]
    guards = [require_protocol, require_device]
    dependencies = {"device": Provide(provide_device)}

    @post(
        "/mutations",
        summary="Push offline changes",
        description=(
            "A batch of mutations, applied in order; each gets its own result. Resending a batch "
            "(same mutation ids) is harmless: replayed mutations return their original result."
        ),
        status_code=200,
        opt={STRICT_BODY: PushRequest},  # decoded once, strictly, by the input guard
        responses={
            200: ResponseSpec(
                data_container=PushResponse,
                description="One result per mutation, in order",
                generate_examples=False,
                examples=[Example(summary="Applied and rejected", value=PUSH_RESPONSE)],
            ),
            400: error_response("Malformed body or a wrongly typed field (`details.field` names it)"),
            413: error_response("Body too large"),
        },
    )
    async def push(
        self,
        request: Request[Any, Any, State],
        state: State,
        device: NamedDependency[DevicePrincipal],
        data: Annotated[
            PushRequest,
            BodyKwarg(
                media_type=RequestEncodingType.JSON,
                examples=[Example(summary="A day's uploads", value=PUSH_REQUEST)],
            ),
        ],
    ) -> PushResponse:
        body = await strict_body(request, PushRequest)
        services = services_of(state)
        response = await services.pushes.push(device, body)  # wakes the forwarding workers
        await services.devices.synced(device)
        return response

    @get(
        "/uploads/{mutation_id:str}",
        summary="Status of one upload",
        responses={
            200: ResponseSpec(
                data_container=UploadStatus,
                description="Where the upload stands",
                generate_examples=False,
                examples=[Example(summary="In Xero", value=UPLOAD_STATUS)],
            ),
            404: error_response("No upload with this mutation id in this organisation"),
        },
    )
    async def upload_status(
        self, mutation_id: FromPath[str], state: State, device: NamedDependency[DevicePrincipal]
    ) -> UploadStatus:
        return await services_of(state).upload_statuses.status(device.organisation_id, mutation_id)
