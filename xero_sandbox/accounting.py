"""The Accounting API operations (`/api.xro/2.0/...`) and their route table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import contacts, invoices, items, payments, tracking
from .errors import ElementInvalid, NotFound, PostDataInvalid, ValidationFailed
from .gateway import Call, Operation, Outcome, envelope
from .query import ids_filter, if_modified_since, include_archived, page_of, paginate, parse_where, select
from .records import is_guid
from .reference import account_wire, organisation_wire, tax_rate_wire
from .sandbox import Sandbox
from .store import Record

PREFIX = "/api.xro/2.0"

Commit = Callable[[], Record]
Prepare = Callable[[dict[str, Any]], Commit]


# --- request helpers -----------------------------------------------------------------------------
def _elements(call: Call, collection: str) -> list[dict[str, Any]]:
    """Xero takes `{"Contacts": [...]}` or a single bare object."""
    body = call.json()
    elements: list[dict[str, Any]]
    if isinstance(body, dict) and isinstance(body.get(collection), list):
        elements = body[collection]
    elif isinstance(body, dict) and collection not in body:
        elements = [body]
    else:
        raise PostDataInvalid(f"expected an object with a '{collection}' list.")
    if not all(isinstance(element, dict) for element in elements):
        raise PostDataInvalid(f"every element of '{collection}' must be an object.")
    return elements


def _summarize(call: Call) -> bool:
    # The live API summarises unless told summarizeErrors=false (the spec claims the opposite default).
    return call.flag("summarizeErrors", default=True)


# The flag Xero sets on a refused element, by collection (the spec's Contact/Payment and Invoice schemas).
_ERROR_FLAGS = {"contacts": "HasValidationErrors", "payments": "HasValidationErrors", "invoices": "HasErrors"}


def _echo(call: Call, element: dict[str, Any], error: ElementInvalid) -> dict[str, Any]:
    echoed = {
        **element,
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": message} for message in error.messages],
    }
    parts = call.path.split("/")
    flag = _ERROR_FLAGS.get(parts[3].lower()) if len(parts) > 3 else None
    if flag:
        echoed[flag] = True
    return echoed


def _batch(
    call: Call, elements: list[dict[str, Any]], prepare: Prepare, to_wire: Callable[[Record], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Summarised: all or nothing, one 400 listing the failures. Not summarised: per element, HTTP 200."""
    if _summarize(call):
        commits: list[Commit] = []
        failures: list[dict[str, Any]] = []
        for element in elements:
            try:
                commits.append(prepare(element))
            except ElementInvalid as error:
                failures.append(_echo(call, element, error))
        if failures:
            raise ValidationFailed(failures)
        return [{**to_wire(commit()), "StatusAttributeString": "OK"} for commit in commits]
    results: list[dict[str, Any]] = []
    for element in elements:
        try:
            record = to_wire(prepare(element)())
            results.append({**record, "StatusAttributeString": "OK", "ValidationErrors": []})
        except ElementInvalid as error:
            results.append(_echo(call, element, error))
    return results


def _id_param(call: Call, name: str) -> str:
    value = str(call.path_params[name])
    return value


class _Claims:
    """Unique keys claimed by earlier elements of the same batch.

    A summarised batch validates every element before committing any, so the store cannot see that two
    elements of one request want the same contact name or item code; this can.
    """

    def __init__(self, message: Callable[[str], str]) -> None:
        self._message = message
        self._seen: set[str] = set()

    def claim(self, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            return
        key = " ".join(value.split()).lower()
        if key in self._seen:
            raise ElementInvalid([self._message(value)])
        self._seen.add(key)


@dataclass
class _Changes:
    """Collects what a write touched, for the ledger and webhooks."""

    outcome: Outcome
    entity: str
    category: str | None

    def add(self, record_id: str, created: bool) -> None:
        self.outcome.changes.append(
            {"entity": self.entity, "id": record_id, "action": "create" if created else "update"}
        )
        if self.category:
            self.outcome.events.append((self.category, record_id, "CREATE" if created else "UPDATE"))


# --- Organisation, Accounts, TaxRates --------------------------------------------------------------
def get_organisation(sandbox: Sandbox, call: Call) -> Outcome:
    return Outcome(body=envelope(sandbox, call.now, Organisations=[organisation_wire(call.org)]))


def get_accounts(sandbox: Sandbox, call: Call) -> Outcome:
    found = select(
        call.org.accounts.values(),
        where=parse_where(call.params.get("where")),
        ids=None,
        order=call.params.get("order"),
        id_key="AccountID",
        since=if_modified_since(call.headers.get("if-modified-since")),
        extra=lambda account: account["Status"] != "DELETED",
    )
    return Outcome(body=envelope(sandbox, call.now, Accounts=[account_wire(a) for a in found]))


def get_account(sandbox: Sandbox, call: Call) -> Outcome:
    account = call.org.accounts.get(_id_param(call, "account_id").lower())
    if account is None or account["Status"] == "DELETED":
        raise NotFound()
    return Outcome(body=envelope(sandbox, call.now, Accounts=[account_wire(account)]))


def get_tax_rates(sandbox: Sandbox, call: Call) -> Outcome:
    # TaxRates takes no If-Modified-Since (Xero ignores it there), and is never paged.
    found = select(
        call.org.tax_rates.values(),
        where=parse_where(call.params.get("where")),
        ids=None,
        order=call.params.get("order"),
        id_key="TaxType",
        since=None,
    )
    return Outcome(body=envelope(sandbox, call.now, TaxRates=[tax_rate_wire(rate) for rate in found]))


def get_tax_rate(sandbox: Sandbox, call: Call) -> Outcome:
    rate = call.org.tax_rates.get(_id_param(call, "tax_type"))
    if rate is None:
        raise NotFound()
    return Outcome(body=envelope(sandbox, call.now, TaxRates=[tax_rate_wire(rate)]))


# --- TrackingCategories, BrandingThemes ---------------------------------------------------------------
def get_tracking_categories(sandbox: Sandbox, call: Call) -> Outcome:
    # Like TaxRates: no If-Modified-Since, no paging; archived categories and options only on request.
    archived = include_archived(call.params)
    found = select(
        call.org.tracking_categories.values(),
        where=parse_where(call.params.get("where")),
        ids=None,
        order=call.params.get("order"),
        id_key="TrackingCategoryID",
        since=None,
        extra=lambda category: archived or category["Status"] == "ACTIVE",
    )
    return Outcome(
        body=envelope(
            sandbox, call.now, TrackingCategories=[tracking.category_wire(c, archived) for c in found]
        )
    )


def get_tracking_category(sandbox: Sandbox, call: Call) -> Outcome:
    category = tracking.category(call.org, _id_param(call, "tracking_category_id"))
    return Outcome(
        body=envelope(sandbox, call.now, TrackingCategories=[tracking.category_wire(category, True)])
    )


def get_branding_themes(sandbox: Sandbox, call: Call) -> Outcome:
    themes = sorted(call.org.branding_themes.values(), key=lambda theme: theme["SortOrder"])
    return Outcome(body=envelope(sandbox, call.now, BrandingThemes=[tracking.theme_wire(t) for t in themes]))


def get_branding_theme(sandbox: Sandbox, call: Call) -> Outcome:
    theme = call.org.branding_themes.get(_id_param(call, "branding_theme_id").lower())
    if theme is None:
        raise NotFound()
    return Outcome(body=envelope(sandbox, call.now, BrandingThemes=[tracking.theme_wire(theme)]))


# --- Contacts ----------------------------------------------------------------------------------------
def get_contacts(sandbox: Sandbox, call: Call) -> Outcome:
    archived = include_archived(call.params)
    search = (call.params.get("searchterm") or "").lower()

    def extra(contact: Record) -> bool:
        if not contacts.visible(contact, archived):
            return False
        return not search or any(
            search in str(contact.get(key, "")).lower()
            for key in ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
        )

    found = select(
        call.org.contacts.values(),
        where=parse_where(call.params.get("where")),
        ids=ids_filter(call.params, "IDs"),
        order=call.params.get("order"),
        id_key="ContactID",
        since=if_modified_since(call.headers.get("if-modified-since")),
        extra=extra,
    )
    page, pagination = paginate(found, page_of(call.params))
    body = envelope(sandbox, call.now, Contacts=[contacts.wire(c) for c in page])
    if pagination is not None:
        body = {**envelope(sandbox, call.now), "pagination": pagination, "Contacts": body["Contacts"]}
    return Outcome(body=body)


def get_contact(sandbox: Sandbox, call: Call) -> Outcome:
    contact = contacts.get(call.org, _id_param(call, "contact_id"))
    return Outcome(body=envelope(sandbox, call.now, Contacts=[contacts.wire(contact)]))


ARCHIVED_CONTACT_MESSAGE = (
    "The specified contact details matched an archived contact. "
    "Archived contacts cannot currently be edited via the API."
)


def _contact_writer(call: Call, outcome: Outcome, update_existing: bool) -> Prepare:
    changes = _Changes(outcome, "Contact", "CONTACT")
    org = call.org
    names = _Claims(contacts.duplicate_name_message)

    def prepare(element: dict[str, Any]) -> Commit:
        existing = contacts.find(org, element) if update_existing else None
        if existing is None and element.get("ContactID"):
            raise ElementInvalid([f"The contact with ContactID '{element['ContactID']}' could not be found."])
        if (
            existing is not None
            and existing.get("ContactStatus") == "ARCHIVED"
            and not element.get("ContactStatus")
        ):
            # Xero's API edits an archived contact only to restore it (ContactStatus ACTIVE).
            raise ElementInvalid([ARCHIVED_CONTACT_MESSAGE])
        if (element.get("ContactStatus") or "ACTIVE") == "ACTIVE":
            names.claim(element.get("Name"))
        if existing is not None:
            prepared = contacts.prepare_update(org, existing, element)

            def commit_update() -> Record:
                record = contacts.commit_update(org, prepared, call.now)
                changes.add(record["ContactID"], created=False)
                return record

            return commit_update
        new = contacts.prepare_create(org, element)

        def commit_create() -> Record:
            record = contacts.commit_create(org, new, call.now)
            changes.add(record["ContactID"], created=True)
            return record

        return commit_create

    return prepare


def put_contacts(sandbox: Sandbox, call: Call) -> Outcome:
    outcome = Outcome()
    results = _batch(call, _elements(call, "Contacts"), _contact_writer(call, outcome, False), contacts.wire)
    outcome.body = envelope(sandbox, call.now, Contacts=results)
    return outcome


def post_contacts(sandbox: Sandbox, call: Call) -> Outcome:
    outcome = Outcome()
    results = _batch(call, _elements(call, "Contacts"), _contact_writer(call, outcome, True), contacts.wire)
    outcome.body = envelope(sandbox, call.now, Contacts=results)
    return outcome


def post_contact(sandbox: Sandbox, call: Call) -> Outcome:
    contact = contacts.get(call.org, _id_param(call, "contact_id"))
    outcome = Outcome()
    writer = _contact_writer(call, outcome, True)
    elements = [{**element, "ContactID": contact["ContactID"]} for element in _elements(call, "Contacts")[:1]]
    results = _batch(call, elements, writer, contacts.wire)
    outcome.body = envelope(sandbox, call.now, Contacts=results)
    return outcome


# --- Items -------------------------------------------------------------------------------------------
def get_items(sandbox: Sandbox, call: Call) -> Outcome:
    found = select(
        call.org.items.values(),
        where=parse_where(call.params.get("where")),
        ids=None,
        order=call.params.get("order"),
        id_key="ItemID",
        since=if_modified_since(call.headers.get("if-modified-since")),
    )
    return Outcome(body=envelope(sandbox, call.now, Items=[items.wire(i, call.unitdp) for i in found]))


def get_item(sandbox: Sandbox, call: Call) -> Outcome:
    item = items.get(call.org, _id_param(call, "item_id"))
    return Outcome(body=envelope(sandbox, call.now, Items=[items.wire(item, call.unitdp)]))


def _item_writer(call: Call, outcome: Outcome, update_existing: bool) -> Prepare:
    changes = _Changes(outcome, "Item", None)
    org = call.org
    codes = _Claims(items.duplicate_code_message)

    def prepare(element: dict[str, Any]) -> Commit:
        existing = items.find(org, element) if update_existing else None
        if existing is None and element.get("ItemID"):
            raise ElementInvalid([f"The item with ItemID '{element['ItemID']}' could not be found."])
        codes.claim(element.get("Code"))
        prepared = items.prepare(org, element, existing, call.unitdp)

        def commit() -> Record:
            record = items.commit(org, prepared, call.now)
            changes.add(record["ItemID"], created=existing is None)
            return record

        return commit

    return prepare


def _items_write(
    sandbox: Sandbox, call: Call, update_existing: bool, elements: list[dict[str, Any]]
) -> Outcome:
    outcome = Outcome()
    results = _batch(
        call,
        elements,
        _item_writer(call, outcome, update_existing),
        lambda item: items.wire(item, call.unitdp),
    )
    outcome.body = envelope(sandbox, call.now, Items=results)
    return outcome


def put_items(sandbox: Sandbox, call: Call) -> Outcome:
    return _items_write(sandbox, call, False, _elements(call, "Items"))


def post_items(sandbox: Sandbox, call: Call) -> Outcome:
    return _items_write(sandbox, call, True, _elements(call, "Items"))


def post_item(sandbox: Sandbox, call: Call) -> Outcome:
    item = items.get(call.org, _id_param(call, "item_id"))
    elements = [{**element, "ItemID": item["ItemID"]} for element in _elements(call, "Items")[:1]]
    return _items_write(sandbox, call, True, elements)


def delete_item(sandbox: Sandbox, call: Call) -> Outcome:
    item = items.delete(call.org, _id_param(call, "item_id"))
    return Outcome(status=204, changes=[{"entity": "Item", "id": item["ItemID"], "action": "delete"}])


# --- Invoices ----------------------------------------------------------------------------------------
def get_invoices(sandbox: Sandbox, call: Call) -> Outcome:
    numbers = ids_filter(call.params, "InvoiceNumbers")
    contact_ids = ids_filter(call.params, "ContactIDs")
    statuses = ids_filter(call.params, "Statuses")
    include_archived(call.params)  # accepted and validated; invoices have no archived state to hide

    def extra(invoice: Record) -> bool:
        return (
            (numbers is None or invoice["InvoiceNumber"].lower() in numbers)
            and (contact_ids is None or invoice["Contact"]["ContactID"] in contact_ids)
            and (statuses is None or invoice["Status"].lower() in statuses)
        )

    found = select(
        call.org.invoices.values(),
        where=parse_where(call.params.get("where")),
        ids=ids_filter(call.params, "IDs"),
        order=call.params.get("order"),
        id_key="InvoiceID",
        since=if_modified_since(call.headers.get("if-modified-since")),
        extra=extra,
    )
    page, pagination = paginate(found, page_of(call.params))
    wired = [invoices.wire(call.org, invoice, call.unitdp) for invoice in page]
    if pagination is None:
        # Xero leaves the line items out of unpaged lists: only paged and single reads carry them.
        for invoice in wired:
            invoice.pop("LineItems", None)
    body = envelope(sandbox, call.now, Invoices=wired)
    if pagination is not None:
        body = {**envelope(sandbox, call.now), "pagination": pagination, "Invoices": wired}
    return Outcome(body=body)


def _invoice_in_path(call: Call) -> Record:
    # Xero accepts an InvoiceNumber in place of the InvoiceID here.
    key = _id_param(call, "invoice_id")
    invoice = call.org.invoices.get(key.lower()) if is_guid(key) else invoices.find_by_number(call.org, key)
    if invoice is None:
        raise NotFound()
    return invoice


def get_invoice(sandbox: Sandbox, call: Call) -> Outcome:
    invoice = _invoice_in_path(call)
    return Outcome(body=envelope(sandbox, call.now, Invoices=[invoices.wire(call.org, invoice, call.unitdp)]))


def _invoice_writer(call: Call, outcome: Outcome, update_existing: bool) -> Prepare:
    changes = _Changes(outcome, "Invoice", "INVOICE")
    org = call.org
    numbers = _Claims(lambda _: invoices.DUPLICATE_NUMBER)

    def prepare(element: dict[str, Any]) -> Commit:
        existing = invoices.find(org, element) if update_existing else None
        if existing is None and element.get("InvoiceID"):
            raise ElementInvalid([f"The invoice with InvoiceID '{element['InvoiceID']}' could not be found."])
        numbers.claim(element.get("InvoiceNumber"))
        if existing is not None:
            prepared = invoices.prepare_update(org, existing, element, call.unitdp)

            def commit_update() -> Record:
                record = invoices.commit_update(org, prepared, call.now)
                if not call.keep_invoice_url:
                    record.pop("Url", None)
                changes.add(record["InvoiceID"], created=False)
                return record

            return commit_update
        new = invoices.prepare_create(org, element, call.unitdp, call.now.date())

        def commit_create() -> Record:
            contacts_before = len(org.contacts)
            record = invoices.commit_create(org, new, call.now)
            if not call.keep_invoice_url:
                record.pop("Url", None)
            if len(org.contacts) > contacts_before:
                _Changes(outcome, "Contact", "CONTACT").add(record["Contact"]["ContactID"], created=True)
            changes.add(record["InvoiceID"], created=True)
            return record

        return commit_create

    return prepare


def _invoices_write(
    sandbox: Sandbox, call: Call, update_existing: bool, elements: list[dict[str, Any]]
) -> Outcome:
    outcome = Outcome()
    results = _batch(
        call,
        elements,
        _invoice_writer(call, outcome, update_existing),
        lambda invoice: invoices.wire(call.org, invoice, call.unitdp),
    )
    outcome.body = envelope(sandbox, call.now, Invoices=results)
    return outcome


def put_invoices(sandbox: Sandbox, call: Call) -> Outcome:
    return _invoices_write(sandbox, call, False, _elements(call, "Invoices"))


def post_invoices(sandbox: Sandbox, call: Call) -> Outcome:
    return _invoices_write(sandbox, call, True, _elements(call, "Invoices"))


def post_invoice(sandbox: Sandbox, call: Call) -> Outcome:
    invoice = _invoice_in_path(call)
    elements = [{**element, "InvoiceID": invoice["InvoiceID"]} for element in _elements(call, "Invoices")[:1]]
    return _invoices_write(sandbox, call, True, elements)


def get_online_invoice(sandbox: Sandbox, call: Call) -> Outcome:
    invoice = _invoice_in_path(call)
    try:
        url = invoices.online_invoice_url(invoice)
    except ElementInvalid as error:
        raise ValidationFailed([_echo(call, {"InvoiceID": invoice["InvoiceID"]}, error)]) from error
    return Outcome(body=envelope(sandbox, call.now, OnlineInvoices=[{"OnlineInvoiceUrl": url}]))


def email_invoice(sandbox: Sandbox, call: Call) -> Outcome:
    """204 with no body once sent; a refusal is a 400 validation exception naming the reason."""
    invoice = _invoice_in_path(call)
    call.json()  # the spec's RequestEmpty: a JSON object must be sent
    try:
        sent = invoices.email(call.org, invoice, call.now)
    except ElementInvalid as error:
        raise ValidationFailed([_echo(call, {"InvoiceID": invoice["InvoiceID"]}, error)]) from error
    outcome = Outcome(status=204)
    # The ledger shows what would have been sent, and to whom.
    outcome.changes.append(
        {"entity": "InvoiceEmail", "id": invoice["InvoiceID"], "action": "send", "to": sent["To"]}
    )
    outcome.events.append(("INVOICE", invoice["InvoiceID"], "UPDATE"))
    return outcome


# --- Payments ----------------------------------------------------------------------------------------
def get_payments(sandbox: Sandbox, call: Call) -> Outcome:
    found = select(
        call.org.payments.values(),
        where=parse_where(call.params.get("where")),
        ids=None,
        order=call.params.get("order"),
        id_key="PaymentID",
        since=if_modified_since(call.headers.get("if-modified-since")),
    )
    page, pagination = paginate(found, page_of(call.params))
    wired = [payments.wire(call.org, payment) for payment in page]
    body = envelope(sandbox, call.now, Payments=wired)
    if pagination is not None:
        body = {**envelope(sandbox, call.now), "pagination": pagination, "Payments": wired}
    return Outcome(body=body)


def get_payment(sandbox: Sandbox, call: Call) -> Outcome:
    payment = payments.get(call.org, _id_param(call, "payment_id"))
    return Outcome(body=envelope(sandbox, call.now, Payments=[payments.wire(call.org, payment)]))


def _payment_writer(call: Call, outcome: Outcome) -> Prepare:
    changes = _Changes(outcome, "Payment", None)
    org = call.org

    def prepare(element: dict[str, Any]) -> Commit:
        prepared = payments.prepare_create(org, element, call.now.date())

        def commit() -> Record:
            record = payments.commit_create(org, prepared, call.now)
            changes.add(record["PaymentID"], created=True)
            # Paying an invoice changes it: Xero sends an invoice UPDATE event.
            outcome.events.append(("INVOICE", record["Invoice"]["InvoiceID"], "UPDATE"))
            return record

        return commit

    return prepare


def put_payments(sandbox: Sandbox, call: Call) -> Outcome:
    outcome = Outcome()
    results = _batch(
        call,
        _elements(call, "Payments"),
        _payment_writer(call, outcome),
        lambda payment: payments.wire(call.org, payment),
    )
    outcome.body = envelope(sandbox, call.now, Payments=results)
    return outcome


def post_payments(sandbox: Sandbox, call: Call) -> Outcome:
    return put_payments(sandbox, call)


def post_payment(sandbox: Sandbox, call: Call) -> Outcome:
    payment = payments.get(call.org, _id_param(call, "payment_id"))
    elements = _elements(call, "Payments")[:1]
    try:
        payments.delete(call.org, payment, elements[0], call.now)
    except ElementInvalid as error:
        raise ValidationFailed([_echo(call, elements[0], error)]) from error
    outcome = Outcome(changes=[{"entity": "Payment", "id": payment["PaymentID"], "action": "delete"}])
    outcome.events.append(("INVOICE", payment["Invoice"]["InvoiceID"], "UPDATE"))
    outcome.body = envelope(sandbox, call.now, Payments=[payments.wire(call.org, payment)])
    return outcome


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation: Operation
    operation_id: str  # the spec's operationId, for the conformance check

    @property
    def write(self) -> bool:
        return self.method in ("PUT", "POST", "DELETE")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/Organisation", get_organisation, "getOrganisations"),
    Route("GET", "/Accounts", get_accounts, "getAccounts"),
    Route("GET", "/Accounts/{account_id:str}", get_account, "getAccount"),
    Route("GET", "/TaxRates", get_tax_rates, "getTaxRates"),
    Route("GET", "/TaxRates/{tax_type:str}", get_tax_rate, "getTaxRateByTaxType"),
    Route("GET", "/TrackingCategories", get_tracking_categories, "getTrackingCategories"),
    Route(
        "GET",
        "/TrackingCategories/{tracking_category_id:str}",
        get_tracking_category,
        "getTrackingCategory",
    ),
    Route("GET", "/BrandingThemes", get_branding_themes, "getBrandingThemes"),
    Route("GET", "/BrandingThemes/{branding_theme_id:str}", get_branding_theme, "getBrandingTheme"),
    Route("GET", "/Contacts", get_contacts, "getContacts"),
    Route("PUT", "/Contacts", put_contacts, "createContacts"),
    Route("POST", "/Contacts", post_contacts, "updateOrCreateContacts"),
    Route("GET", "/Contacts/{contact_id:str}", get_contact, "getContact"),
    Route("POST", "/Contacts/{contact_id:str}", post_contact, "updateContact"),
    Route("GET", "/Items", get_items, "getItems"),
    Route("PUT", "/Items", put_items, "createItems"),
    Route("POST", "/Items", post_items, "updateOrCreateItems"),
    Route("GET", "/Items/{item_id:str}", get_item, "getItem"),
    Route("POST", "/Items/{item_id:str}", post_item, "updateItem"),
    Route("DELETE", "/Items/{item_id:str}", delete_item, "deleteItem"),
    Route("GET", "/Invoices", get_invoices, "getInvoices"),
    Route("PUT", "/Invoices", put_invoices, "createInvoices"),
    Route("POST", "/Invoices", post_invoices, "updateOrCreateInvoices"),
    Route("GET", "/Invoices/{invoice_id:str}", get_invoice, "getInvoice"),
    Route("POST", "/Invoices/{invoice_id:str}", post_invoice, "updateInvoice"),
    Route("GET", "/Invoices/{invoice_id:str}/OnlineInvoice", get_online_invoice, "getOnlineInvoice"),
    Route("POST", "/Invoices/{invoice_id:str}/Email", email_invoice, "emailInvoice"),
    Route("GET", "/Payments", get_payments, "getPayments"),
    Route("PUT", "/Payments", put_payments, "createPayments"),
    Route("POST", "/Payments", post_payments, "createPayment"),
    Route("GET", "/Payments/{payment_id:str}", get_payment, "getPayment"),
    Route("POST", "/Payments/{payment_id:str}", post_payment, "deletePayment"),
)
