"""``/mobile/v1/watermelon/pull`` and ``/push``: WatermelonDB's sync contract. See docs/watermelondb.md."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from mobile_api.auth import provide_device, require_device, require_protocol
from mobile_api.bodies import strict_body
from server.core.errors import InvalidInput
from server.core.principals import DevicePrincipal
from server.http.errors import error_response
from server.http.input_guard import JSON_BODY, STRICT_BODY
from server.http.services import services_of
from sync_protocol.watermelon import Changes, PullResponse, PushResponse, column_type_problem

MAX_TIMESTAMP = 2**53
# What WatermelonDB's own example URL sends on a first sync (`last_pulled_at=${lastPulledAt}`).
_NO_TIMESTAMP = frozenset({"", "null", "undefined", "0"})


def _timestamp(value: str | None, required: bool) -> int | None:
    if value is None or value in _NO_TIMESTAMP:
        if required:
            raise InvalidInput("push needs the last_pulled_at of the pull before it", field="last_pulled_at")
        return None
    if not value.isdigit() or int(value) > MAX_TIMESTAMP:
        raise InvalidInput("last_pulled_at must be a timestamp this server returned", field="last_pulled_at")
    return int(value)


LastPulledAt = Annotated[
    str | None,
    QueryParameter(
        description=(
            "`lastPulledAt` as WatermelonDB passes it, the last pull's `timestamp` (null or 0: first sync)"
        )
    ),
]


class WatermelonController(Controller):
    path = "/mobile/v1/watermelon"
    tags = ["mobile", "watermelondb"]
    guards = [require_protocol, require_device]
    dependencies = {"device": Provide(provide_device)}

    @get(
        "/pull",
        summary="WatermelonDB pullChanges",
        description=(
            "Every change since `last_pulled_at` as "
            "`{changes: {table: {created, updated, deleted}}, timestamp}`. "
            "A `last_pulled_at` the feed can no longer serve incrementally gets the whole data set with "
            '`experimentalStrategy: "replacement"`.'
        ),
    )
    async def pull(
        self,
        state: State,
        device: NamedDependency[DevicePrincipal],
        last_pulled_at: LastPulledAt = None,
        schema_version: Annotated[
            int | None,
            QueryParameter(
                ge=1, le=2**31 - 1, description="The app's schema version (every table is served)"
            ),
        ] = None,
        migration: Annotated[
            str | None,
            QueryParameter(
                description="WatermelonDB's `migration` as JSON: when not null, the whole data set is sent"
            ),
        ] = None,
    ) -> PullResponse:
        services = services_of(state)
        migrated = migration not in (None, "", "null", "undefined")
        await services.devices.synced(device)
        return await services.watermelon.pull(device, _timestamp(last_pulled_at, required=False), migrated)

    @post(
        "/push",
        summary="WatermelonDB pushChanges",
        description=(
            "The app's `changes`, applied through the native push. Rejected records come back in "
            "`experimentalRejectedIds` (and `rejections` says why); a record changed on the server after "
            "`last_pulled_at` fails the whole push with 409 `push_conflict`: pull, then push again."
        ),
        status_code=200,
        opt={JSON_BODY: True, STRICT_BODY: Changes},  # decoded once, strictly, by the input guard
        responses={
            400: error_response("Malformed body, unsafe record id or missing last_pulled_at"),
            409: error_response(
                "A pushed record changed on the server since last_pulled_at (`push_conflict`)"
            ),
        },
    )
    async def push(
        self,
        request: Request[Any, Any, State],
        state: State,
        device: NamedDependency[DevicePrincipal],
        last_pulled_at: LastPulledAt = None,
    ) -> PushResponse:
        changes = await strict_body(request, Changes)
        problem = column_type_problem(changes)
        if problem is not None:
            field, message = problem
            raise InvalidInput(f"{field}: {message}", field=field)
        services = services_of(state)
        timestamp = _timestamp(last_pulled_at, required=True)
        assert timestamp is not None
        response = await services.watermelon.push(device, timestamp, changes)  # wakes the forwarding workers
        await services.devices.synced(device)
        return response
