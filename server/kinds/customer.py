"""A customer created or edited on a phone (``upsert_customer``): a contact in Xero.

Push: a new customer needs a fresh lowercase UUID; an edit changes only the fields the phone
changed (stored with its base, so the forwarder merges them with Xero's contact). Forward: a
contact create (``ContactNumber`` holds our id, so a create whose answer was lost is found again)
or an edit, held when the organisation keeps customer edits on the server. WatermelonDB: one
``customers`` row; its ``_changed`` column names the fields the app edited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from server.core import merge
from server.core.fate import Failed, Fate, Held, InXero
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import (
    NO_LONGER_IN_XERO,
    Job,
    Operation,
    Plan,
    PlanContext,
    Send,
    Settled,
    Unit,
    WatermelonPush,
    XeroReads,
    kept_by_setting,
)
from server.kinds.rows import ADDRESS, Unusable, convert, same, sync_columns, text
from server.xero import wire
from server.xero_link import mapping
from sync_protocol import drafts
from sync_protocol.entities import Address, Customer, Entity
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import CUSTOMER_FIELDS, CustomerDraft, CustomerField, UpsertCustomer
from sync_protocol.watermelon import RawRecord, Rejection

ARCHIVED_IN_XERO = (
    "the customer was archived in Xero, so the edit was not sent; restore the contact in Xero to edit it"
)


async def _merged(jobs: list[Job], xero: XeroReads) -> tuple[list[Job], list[Settled]]:
    """Customer edits merged with Xero's current contacts: each job sends only the fields the
    phone changed and Xero did not (or, by the policy, both did); nothing to send is done."""
    if not jobs:
        return jobs, []
    current = await xero.contacts_by_id([job.element["ContactID"] for job in jobs])
    policy = await xero.merge_policy()
    remaining: list[Job] = []
    settled: list[Settled] = []
    for job in jobs:
        mutation = job.item.mutation
        contact = current.get(str(job.element["ContactID"]).lower())
        if contact is None or not isinstance(mutation, UpsertCustomer):
            settled.append((job.item, Failed(f"the customer {NO_LONGER_IN_XERO}", "customer.id"), None))
            continue
        mapped = mapping.customer_of(contact, job.item.record_id)
        if not mapped.live:
            # Xero's API does not edit an archived contact; phones drop it, as the mirror would.
            settled.append((job.item, Failed(ARCHIVED_IN_XERO, "customer.id", gone=True), None))
            continue
        theirs = mapped.entity
        assert isinstance(theirs, Customer)
        values = merge.customer_values(theirs)
        merged = merge.merge(values, merge.edit_of(mutation, values), policy)
        job.conflicts = merged.conflicts
        if merged.send:
            job.element = contact_changes(contact.contact_id, merged.send)
            remaining.append(job)
        else:
            fate = InXero(
                contact.contact_id,
                record=merge.with_values(theirs, merged.values),
                note=merge.note_of(merged.conflicts),
            )
            settled.append((job.item, fate, CONTACT_UPDATE))
    return remaining, settled


async def _found_again(jobs: list[Job], since: datetime, xero: XeroReads) -> list[tuple[Job, Fate]]:
    """Creates found in Xero by the ContactNumber that holds our id (archived ones too)."""
    wanted = {job.item.record_id for job in jobs}
    pages = await xero.changed_since("/Contacts", wire.Contacts, since, {"includeArchived": "true"})
    contacts = {c.contact_number: c for page in pages for c in page.contacts if c.contact_number in wanted}
    return [
        (job, InXero(contacts[job.item.record_id].contact_id))
        for job in jobs
        if job.item.record_id in contacts
    ]


def _answered(job: Job, element: Any, fate: InXero) -> InXero:
    """A merged edit's fate carries the contact as Xero answered it, and what was resolved."""
    if job.conflicts is None:
        return fate
    record = mapping.customer_of(element, job.item.record_id).entity
    return InXero(fate.xero_id, record=record, note=merge.note_of(job.conflicts))


CONTACT_CREATE = Operation(
    "contact_create",
    "PUT",
    "/Contacts",
    "Contacts",
    True,
    wire.Contacts,
    id_key="ContactID",
    found_again=_found_again,
    links_mirror=True,  # later pulls update the phone's customer instead of adding a second copy
)
CONTACT_UPDATE = Operation(
    "contact_update",
    "POST",
    "/Contacts",
    "Contacts",
    False,
    wire.Contacts,
    id_key="ContactID",
    refused_record="customer",
    prepare=_merged,
    answered=_answered,
)


class CustomerKind:
    tag = "upsert_customer"
    mutation_type = UpsertCustomer
    plans_with_organisation = False
    operations: tuple[Operation, ...] = (CONTACT_CREATE, CONTACT_UPDATE)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: UpsertCustomer) -> tuple[str, str]:
        return "customer", mutation.customer.id

    def referenced(self, mutation: UpsertCustomer) -> list[str]:
        return [mutation.customer.id]

    async def stage(self, mutation: UpsertCustomer, staging: Staging) -> tuple[Entity, list[Upload]]:
        draft = mutation.customer
        if mutation.base is not None and mutation.base.id != draft.id:
            raise Rejected(ErrorCode.INVALID_VALUE, "base.id must be the customer's id", "base.id")
        previous = await staging.get(Customer, draft.id)
        if previous is None:
            if mutation.base is not None or await staging.gone_from_xero(Customer, draft.id):
                # An edit of a customer archived or deleted in Xero since the phone last pulled:
                # creating it again would put a second copy in Xero.
                raise Rejected(
                    ErrorCode.UNKNOWN_CUSTOMER,
                    f"customer {draft.id} was archived or deleted in Xero; refresh to drop it",
                    "customer.id",
                )
            await staging.new_id(Customer, draft.id, "customer.id")
        else:
            # An edit: only the fields the phone changed change (a Xero edit the mirror brought
            # since stays), and the forwarder merges them with Xero's record.
            stored = merge.edit_request(mutation, previous)
            staging.keep_edit(mutation.mutation_id, stored)
            assert stored.changed is not None
            record = merge.overlay(previous, draft, stored.changed)
            return record, await staging.open_dependencies([draft.id])
        record = Customer(
            id=draft.id,
            xero_id=None,
            name=draft.name,
            first_name=draft.first_name,
            last_name=draft.last_name,
            email=draft.email,
            phone=draft.phone,
            account_number=draft.account_number,
            tax_number=draft.tax_number,
            address=Address(**msgspec.structs.asdict(draft.address)) if draft.address else None,
            status="ACTIVE",
        )
        return record, await staging.open_dependencies([draft.id])

    def stored(self, mutation: UpsertCustomer, replaced: Upload | None) -> UpsertCustomer:
        if replaced is not None and replaced.kind == self.tag:
            return merge.widened(mutation, msgspec.json.decode(replaced.request, type=UpsertCustomer))
        return mutation

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: UpsertCustomer) -> list[tuple[str, str]]:
        return [("customer", mutation.customer.id)]

    def plan(self, mutation: UpsertCustomer, context: PlanContext) -> Plan:
        customer = context.records.get(Customer, mutation.customer.id)
        xero_id = customer.xero_id if customer else None
        if xero_id and not context.settings.update_customers:
            return Held(kept_by_setting("customer edits"))
        operation = CONTACT_UPDATE if xero_id else CONTACT_CREATE
        return Send(operation, contact_element(mutation.customer, xero_id))

    def fate_of(self, element: Any) -> InXero:
        return InXero(element.contact_id)

    def field_of(self, mutation: UpsertCustomer, message: str) -> str:
        lowered = message.lower()
        if "email" in lowered:
            return "customer.email"
        if "contact name" in lowered or "name" in lowered:
            return "customer.name"
        if "account number" in lowered:
            return "customer.account_number"
        return ""

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: UpsertCustomer) -> list[tuple[str, str | None]]:
        return []

    edits_have_bases = True

    def with_base(self, mutation: UpsertCustomer, earlier: bytes, named: list[Any] | None) -> UpsertCustomer:
        old = msgspec.json.decode(earlier, type=Customer)
        return msgspec.structs.replace(mutation, base=drafts.customer_base(old))

    def same_as_server(self, mutation: UpsertCustomer, payload: bytes) -> bool:
        return same(mutation.customer, draft_of_row(row(msgspec.json.decode(payload, type=Customer))))

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        changes = push.table("customers")
        units = []
        for raw in changes.created + changes.updated:
            unit = Unit("customers", raw["id"], [("customers", raw["id"])])
            try:
                # ``_changed``: the columns the app edited; the rest of the row is its last pull.
                changed = changed_fields(raw)
                unit.mutation = UpsertCustomer(mutation_id="", customer=draft_of_row(raw), changed=changed)
                unit.named = list(changed) if changed is not None else None
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="customers",
                    id=unit.record_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )
            units.append(unit)
        return units

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        """A customer the server has is not deleted: the app keeps it (marked deleted) and gets it
        back, as ``created``, on its next pull."""
        units = []
        for customer_id in push.table("customers").deleted:
            if await push.record(Customer, "customer", customer_id) is not None:
                rejection = Rejection(
                    table="customers",
                    id=customer_id,
                    code=ErrorCode.NOT_DELETABLE,
                    message="customers cannot be deleted from a phone: archive the contact in Xero",
                )
                unit = Unit("customers", customer_id, [("customers", customer_id)], rejection=rejection)
                unit.deletion = True
                units.append(unit)
        return units


KIND = CustomerKind()


# --- Xero elements --------------------------------------------------------------------------------
def contact_element(draft: CustomerDraft, xero_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"Name": draft.name}
    if xero_id:
        element["ContactID"] = xero_id
    else:
        element["ContactNumber"] = draft.id
    for key, value in (
        ("FirstName", draft.first_name),
        ("LastName", draft.last_name),
        ("EmailAddress", draft.email),
        ("AccountNumber", draft.account_number),
        ("TaxNumber", draft.tax_number),
    ):
        if value:
            element[key] = value
    if draft.phone:
        element["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": draft.phone}]
    if draft.address is not None:
        address = draft.address
        element["Addresses"] = [
            {
                "AddressType": "POBOX",
                "AddressLine1": address.line1,
                "AddressLine2": address.line2,
                "City": address.city,
                "Region": address.region,
                "PostalCode": address.postal_code,
                "Country": address.country,
            }
        ]
    return element


_CONTACT_TEXT = {
    "name": "Name",
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "EmailAddress",
    "account_number": "AccountNumber",
    "tax_number": "TaxNumber",
}


def contact_changes(xero_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """An edit of a contact in Xero: only the fields in ``values`` (customer field -> new value).

    An empty value clears the field: Xero keeps what a request leaves out, and stores an empty
    string, an empty phone number or an address of empty lines as given.
    """
    element: dict[str, Any] = {"ContactID": xero_id}
    for field, value in values.items():
        if field in _CONTACT_TEXT:
            element[_CONTACT_TEXT[field]] = value
        elif field == "phone":
            element["Phones"] = [
                {"PhoneType": "DEFAULT", "PhoneNumber": value, "PhoneAreaCode": "", "PhoneCountryCode": ""}
            ]
        elif field == "address":
            parts = value or {}
            element["Addresses"] = [
                {
                    "AddressType": "POBOX",
                    "AddressLine1": parts.get("line1", ""),
                    "AddressLine2": parts.get("line2", ""),
                    "City": parts.get("city", ""),
                    "Region": parts.get("region", ""),
                    "PostalCode": parts.get("postal_code", ""),
                    "Country": parts.get("country", ""),
                }
            ]
    return element


# --- WatermelonDB rows ----------------------------------------------------------------------------
def row(record: Customer) -> RawRecord:
    address = record.address
    return {
        "id": record.id,
        "xero_id": record.xero_id,
        "name": record.name,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "email": record.email,
        "phone": record.phone,
        "account_number": record.account_number,
        "tax_number": record.tax_number,
        **{f"address_{part}": getattr(address, part) if address else "" for part in ADDRESS},
        "status": record.status,
        **sync_columns(record.sync),
    }


def draft_of_row(raw: RawRecord) -> CustomerDraft:
    address = {part: text(raw, f"address_{part}") for part in ADDRESS}
    draft: CustomerDraft = convert(
        {
            "id": raw.get("id"),
            "name": raw.get("name"),
            "first_name": text(raw, "first_name"),
            "last_name": text(raw, "last_name"),
            "email": text(raw, "email"),
            "phone": text(raw, "phone"),
            "account_number": text(raw, "account_number"),
            "tax_number": text(raw, "tax_number"),
            "address": address if any(address.values()) else None,
        },
        CustomerDraft,
        "customer",
    )
    return draft


def changed_fields(raw: RawRecord) -> list[CustomerField] | None:
    """The customer fields WatermelonDB's ``_changed`` column names (comma-separated columns the
    app changed since its last sync); None when the row does not say."""
    changed = raw.get("_changed")
    if not isinstance(changed, str) or not changed:
        return None
    columns = {column.strip() for column in changed.split(",")}
    fields = [field for field in CUSTOMER_FIELDS if field in columns]
    if any(column.startswith("address_") for column in columns):
        fields.append("address")
    return fields
