"""The Settings page: the accounts uploads go to, the forwarding options, the invoice status and the
sync interval; saved through the same service as ``PUT /admin/api/settings``, with each validation
message next to its field."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.admin.console.rendering import page, see_other
from server.core.accounts import mirrored_accounts
from server.core.errors import InvalidInput
from server.forwarding.settings import ForwardingSettingsService, SettingsChange, SettingsView
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.services.admins import AdminPrincipal

PATH = "/admin/settings"
SETTING_LABELS = {
    "bank_account_code": "Bank account for payments",
    "revenue_account_code": "Revenue account for sales",
    "forward_payments": "Send payments to Xero",
    "update_customers": "Send customer edits to Xero",
    "update_products": "Send product edits to Xero",
    "email_invoices": "Phones may have Xero email invoices to customers",
    "forward_invoice_edits": "Send edits of invoices already in Xero",
    "invoice_status": "Status of new invoices in Xero",
    "sync_interval_minutes": "Minutes between syncs",
}
# One line under each option: what it changes, in the office's words.
SETTING_HELP = {
    "bank_account_code": "Payments taken on phones are recorded in Xero as paid into this account.",
    "revenue_account_code": "Invoice lines with no account of their own (or of their product) go here.",
    "forward_payments": "Off: payments stay on the server (held) until you turn this on and Retry all.",
    "update_customers": "Off: new customers still go to Xero, but edits of existing ones stay here.",
    "update_products": "Off: product edits made on phones stay here; Xero keeps its own.",
    "forward_invoice_edits": "Off: an invoice already in Xero is not changed by later edits on a phone.",
    "invoice_status": "Draft invoices wait in Xero for someone to approve them; Approved ones are final.",
}
INVOICE_STATUSES = (("AUTHORISED", "Approved (AUTHORISED)"), ("DRAFT", "Draft (DRAFT)"))


def setting_label(field: str) -> str:
    return SETTING_LABELS.get(field, field)


class SettingsForm(msgspec.Struct):
    """The form as posted: every field is sent; an unticked checkbox is simply absent."""

    bank_account_code: str = ""
    revenue_account_code: str = ""
    forward_payments: str = ""
    update_customers: str = ""
    update_products: str = ""
    email_invoices: str = ""
    forward_invoice_edits: str = ""
    invoice_status: str = "AUTHORISED"
    sync_interval_minutes: str = ""

    def change(self) -> SettingsChange:
        """The change to save; InvalidInput naming the field for what the form itself can tell."""
        if self.invoice_status not in ("AUTHORISED", "DRAFT"):
            raise InvalidInput("choose Approved or Draft", field="invoice_status")
        interval = self.sync_interval_minutes.strip()
        if interval and not interval.isdigit():
            raise InvalidInput("enter whole minutes, or leave it empty", field="sync_interval_minutes")
        return SettingsChange(
            bank_account_code=self.bank_account_code or None,
            revenue_account_code=self.revenue_account_code or None,
            forward_payments=bool(self.forward_payments),
            update_customers=bool(self.update_customers),
            update_products=bool(self.update_products),
            email_invoices=bool(self.email_invoices),
            forward_invoice_edits=bool(self.forward_invoice_edits),
            invoice_status="DRAFT" if self.invoice_status == "DRAFT" else "AUTHORISED",
            sync_interval_minutes=int(interval) if interval else None,
        )


def _values(view: SettingsView) -> dict[str, Any]:
    return {
        "bank_account_code": view.bank_account_code or "",
        "revenue_account_code": view.revenue_account_code or "",
        "forward_payments": view.forward_payments,
        "update_customers": view.update_customers,
        "update_products": view.update_products,
        "email_invoices": view.email_invoices,
        "forward_invoice_edits": view.forward_invoice_edits,
        "invoice_status": view.invoice_status,
        "sync_interval_minutes": ""
        if view.sync_interval_minutes is None
        else str(view.sync_interval_minutes),
    }


def _posted(form: SettingsForm) -> dict[str, Any]:
    return {
        "bank_account_code": form.bank_account_code,
        "revenue_account_code": form.revenue_account_code,
        "forward_payments": bool(form.forward_payments),
        "update_customers": bool(form.update_customers),
        "update_products": bool(form.update_products),
        "email_invoices": bool(form.email_invoices),
        "forward_invoice_edits": bool(form.forward_invoice_edits),
        "invoice_status": form.invoice_status,
        "sync_interval_minutes": form.sync_interval_minutes,
    }


def _service(state: State) -> ForwardingSettingsService:
    return services_of(state).forwarding_settings


class SettingsController(Controller):
    path = PATH
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    async def _page(
        self,
        request: Request[Any, Any, State],
        admin: AdminPrincipal,
        state: State,
        values: dict[str, Any],
        view: SettingsView,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        return page(
            request,
            "settings.html",
            title="Settings",
            active="settings",
            values=values,
            view=view,
            errors=errors or {},
            banks=await mirrored_accounts(services_of(state).database, admin.organisation_id, "BANK"),
            revenues=await mirrored_accounts(services_of(state).database, admin.organisation_id, "REVENUE"),
            statuses=INVOICE_STATUSES,
            labels=SETTING_LABELS,
            help=SETTING_HELP,
            default_interval=services_of(state).settings.sync_interval_minutes,
            status_code=status_code,
        )

    @get("/")
    async def show(
        self, request: Request[Any, Any, State], admin: NamedDependency[AdminPrincipal], state: State
    ) -> Response[Any]:
        view = await _service(state).get(admin.organisation_id)
        return await self._page(request, admin, state, _values(view), view)

    @post("/", status_code=303)
    async def save(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        data: Annotated[SettingsForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        try:
            await _service(state).update(admin.organisation_id, admin.email, data.change())
        except InvalidInput as exc:
            field = str(exc.details.get("field") or "")
            view = await _service(state).get(admin.organisation_id)
            errors = {field or "form": exc.message}
            return await self._page(request, admin, state, _posted(data), view, errors, 400)
        return see_other(PATH, ("done", "Settings saved."))
