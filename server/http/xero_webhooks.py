"""``POST /xero/webhooks``: where the Xero app's webhook deliveries land (docs/operations.md).

Thin by design: the raw body and the signature go to ``WebhookInbox`` (``server/mirror/webhooks.py``),
which verifies and records them; the answer is what Xero requires, an empty 200 for a well-signed
delivery and an empty 401 otherwise - not the error envelope, which Xero would not read. The pulls
happen later, in the webhook worker, never inside Xero's 5 s.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from server.http.services import services_of
from server.mirror.webhooks import SIGNATURE_HEADER

WEBHOOK_PATH = "/xero/webhooks"


@post(
    WEBHOOK_PATH,
    tags=["xero"],
    summary="Xero webhook deliveries",
    description=(
        "Xero's deliveries of contact and invoice events, signed with the app's webhook key "
        f"(`{SIGNATURE_HEADER}`: base64 HMAC-SHA256 of the raw body). A well-signed delivery is "
        "recorded and answered 200 with an empty body; any other gets 401 with an empty body "
        "(Xero's intent-to-receive check sends one of each). The records named are pulled afterwards."
    ),
    status_code=200,
    responses={
        401: ResponseSpec(data_container=None, description="The signature is missing or wrong (empty body)")
    },
    cache=False,
)
async def xero_webhooks(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    body = await request.body()
    accepted = await services_of(state).webhooks.receive(body, request.headers.get(SIGNATURE_HEADER))
    return Response(b"", status_code=200 if accepted else 401, media_type="text/plain")
