"""The Uploads page: the outbox, filterable by state; a failed upload shows who refused it (Xero, a
setting, or ledgersync itself: ``messages.py``), a hint, and a Retry button (the same service as
``POST /admin/api/uploads/{id}/retry``)."""

from __future__ import annotations

import math
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter

from server.admin.console.messages import of_upload_view
from server.admin.console.rendering import page, see_other
from server.core.errors import LedgersyncError
from server.core.states import RETRYABLE_STATES, UploadState
from server.forwarding.outbox_admin import OutboxAdmin, StateFilter
from server.forwarding.upload_facts import facts_of
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.services.admins import AdminPrincipal
from server.services.invoice_page import invoice_page

PATH = "/admin/uploads"
PAGE_SIZE = 50
# The filters offered first; the others show when they hold something.
MAIN_FILTERS: tuple[StateFilter, ...] = ("failed", "waiting", "done")
FILTER_LABELS = {
    "failed": "Failed",
    "waiting": "Waiting",
    "due": "Due to send",
    "in_flight": "Sending",
    "retrying": "Retrying",
    "done": "Done",
    "held": "Held",
    "rejected": "Rejected",
}
# Upload states in words (and a symbol, so they read without colour).
STATE_LABELS: dict[UploadState, str] = {
    UploadState.IN_XERO: "✓ In Xero",
    UploadState.FAILED: "✗ Failed",
    UploadState.REJECTED: "✗ Rejected at upload",
    UploadState.WAITING: "… Waiting for an earlier upload",
    UploadState.ACCEPTED: "… Due to send",
    UploadState.FORWARDING: "… Sending",
    UploadState.RETRYING: "↻ Retrying",
    UploadState.HELD: "‖ Held",
    UploadState.SUPERSEDED: "Replaced by a later upload",
}
KIND_LABELS = {
    "upsert_customer": "Customer",
    "upsert_invoice": "Invoice",
    "create_payment": "Payment",
    "void_invoice": "Void invoice",
    "delete_payment": "Delete payment",
}
RETRYABLE = RETRYABLE_STATES


class RetryForm(msgspec.Struct):
    back: str = ""


class RetryAllForm(msgspec.Struct):
    state: str = ""
    # Set by the confirmation page's button; without it the post only leads to that page.
    confirm: str = ""


# Search reads the words of this many newest uploads of the filter (a page of facts per upload);
# enough for a small business's recent weeks, and said on the page.
SEARCH_DEPTH = 2000
RETRY_ALL_FILTERS: tuple[StateFilter, ...] = ("failed", "held")


def _filter(name: str) -> StateFilter | None:
    return cast(StateFilter, name) if name in FILTER_LABELS else None


def _outbox(state: State) -> OutboxAdmin:
    return services_of(state).outbox


def _safe_back(target: str) -> str:
    return target if target.startswith(PATH) and not target.startswith("//") else PATH


XERO_STATUS_LABELS = {
    "DRAFT": "Draft",
    "SUBMITTED": "Awaiting approval",
    "AUTHORISED": "Approved, awaiting payment",
    "PAID": "✓ Paid",
    "VOIDED": "Voided",
    "DELETED": "Deleted",
}


def _context() -> dict[str, Any]:
    return {
        "xero_status_labels": XERO_STATUS_LABELS,
        "state_labels": STATE_LABELS,
        "kind_labels": KIND_LABELS,
        "retryable": RETRYABLE,
        "said_of": of_upload_view,
    }


class UploadsController(Controller):
    path = PATH
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/")
    async def uploads(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        shown: Annotated[StateFilter | None, QueryParameter(name="state")] = None,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        search: Annotated[str, QueryParameter(name="q", max_length=200)] = "",
    ) -> Response[Any]:
        database = services_of(state).database
        query = search.strip()
        if query:
            # Customer names and invoice numbers live in the uploads' requests and the records, not in
            # columns to search: the newest uploads' words are read and matched here.
            recent, _, counts = await _outbox(state).page(admin.organisation_id, shown, SEARCH_DEPTH, 0)
            every = await facts_of(database, admin.organisation_id, recent)
            needle = query.lower()
            matching = [
                v
                for v in recent
                if needle in every[v.id].searchable()
                or needle == str(v.id)
                or needle in v.record_id.lower()
                or needle in v.xero_number.lower()
            ]
            total = len(matching)
            start = (page_number - 1) * PAGE_SIZE
            views = matching[start : start + PAGE_SIZE]
            facts = {v.id: every[v.id] for v in views}
        else:
            views, total, counts = await _outbox(state).page(
                admin.organisation_id, shown, PAGE_SIZE, (page_number - 1) * PAGE_SIZE
            )
            facts = await facts_of(database, admin.organisation_id, views)
        filters = [
            name for name in FILTER_LABELS if name in MAIN_FILTERS or counts.get(name) or name == shown
        ]
        return page(
            request,
            "uploads.html",
            title="Uploads",
            active="uploads",
            uploads=views,
            total=total,
            counts=counts,
            filters=filters,
            filter_labels=FILTER_LABELS,
            shown=shown,
            query=query,
            search_depth=SEARCH_DEPTH,
            facts=facts,
            retry_all=shown in RETRY_ALL_FILTERS and shown is not None and counts.get(shown, 0) > 0,
            page_number=page_number,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **_context(),
        )

    @get("/{upload_id:int}")
    async def upload(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        upload_id: FromPath[int],
    ) -> Response[Any]:
        view = await _outbox(state).get(admin.organisation_id, upload_id)
        facts = await facts_of(services_of(state).database, admin.organisation_id, [view])
        return page(
            request,
            "upload.html",
            title=f"{KIND_LABELS.get(view.kind, view.kind)} upload {view.id}",
            active="uploads",
            upload=view,
            facts=facts[view.id],
            back=request.url.path,
            **_context(),
        )

    @post("/{upload_id:int}/retry", status_code=303)
    async def retry(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        upload_id: FromPath[int],
        data: Annotated[RetryForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        back = _safe_back(data.back)
        try:
            await _outbox(state).retry(admin.organisation_id, upload_id)
        except LedgersyncError as exc:
            return see_other(back, ("problem", exc.message))
        workers = services_of(state).forwarding
        workers.wake()
        return see_other(back, ("done", f"Upload {upload_id} is on its way to Xero again."))

    @get("/retry-all")
    async def confirm_retry_all(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        shown: Annotated[str, QueryParameter(name="state")] = "failed",
    ) -> Response[Any]:
        chosen = _filter(shown)
        if chosen not in RETRY_ALL_FILTERS:
            return see_other(PATH, ("problem", "Retry all is for failed or held uploads."))
        ids = await _outbox(state).retryable_ids(admin.organisation_id, chosen)
        return page(
            request,
            "retry_all.html",
            title="Retry all?",
            active="uploads",
            shown=chosen,
            label=FILTER_LABELS[chosen],
            count=len(ids),
        )

    @post("/retry-all", status_code=303)
    async def retry_all(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        data: Annotated[RetryAllForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        chosen = _filter(data.state)
        if chosen not in RETRY_ALL_FILTERS:
            return see_other(PATH, ("problem", "Retry all is for failed or held uploads."))
        if data.confirm != "yes":
            return see_other(f"{PATH}/retry-all?state={chosen}")
        retried = await _outbox(state).retry_all(admin.organisation_id, chosen)
        services_of(state).forwarding.wake()
        noun = "upload is" if retried == 1 else "uploads are"
        return see_other(f"{PATH}?state={chosen}", ("done", f"{retried} {noun} on their way to Xero again."))


class BacklinksController(Controller):
    """The invoice page: where Xero's ``Url`` of an invoice ledgersync created leads."""

    path = "/admin/invoices"
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/{record_id:str}")
    async def invoice(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        record_id: FromPath[str],
    ) -> Response[Any]:
        shown = await invoice_page(services_of(state).database, admin.organisation_id, record_id)
        number = shown.invoice.invoice_number
        return page(
            request,
            "invoice.html",
            title=f"Invoice {number}" if number else "Invoice",
            active="uploads",
            shown=shown,
            **_context(),
        )
