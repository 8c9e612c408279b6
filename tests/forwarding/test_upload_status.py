"""What ``GET /mobile/v1/uploads/{mutation_id}`` and the pulled records say of an upload's fate."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Invoice, Payment
from sync_protocol.messages import UploadStatus
from tests.fixtures.devices import PROTOCOL
from tests.forwarding.conftest import SALES, Forwarding, settle
from tests.forwarding.test_nothing_waits import upload_of


async def upload_status(forwarding: Forwarding, phone: Phone, record_id: str) -> dict[str, Any]:
    """The upload's status as the phone reads it, decoded strictly as the contract says too."""
    mutation_id = (await upload_of(forwarding, record_id))["mutation_id"]
    headers = {**PROTOCOL, "Authorization": f"Bearer {phone.token}"}
    async with httpx.AsyncClient(base_url=str(forwarding.admin.base_url), headers=headers) as http:
        response = await http.get(f"/mobile/v1/uploads/{mutation_id}")
    assert response.status_code == 200, response.text
    msgspec.json.decode(response.content, type=UploadStatus, strict=True)
    body: dict[str, Any] = response.json()
    return body


def pulled(phone: Phone, entity: str, record_id: str, kind: type[Invoice] | type[Payment]) -> Any:
    return msgspec.json.decode(phone.store.record(entity, record_id) or b"", type=kind)


def archive_output2(forwarding: Forwarding, status: str = "ARCHIVED") -> None:
    control = forwarding.sandbox.control()
    tenant = forwarding.xero_org.tenant_id
    changed = control.post(f"/organisations/{tenant}/tax-rates/OUTPUT2", json={"Status": status})
    assert changed.status_code == 200, changed.text  # in Xero, before the mirror's next pull


async def test_an_invoice_in_xero_reads_its_number_in_its_upload_status(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)

    status = await upload_status(forwarding, phone, invoice_id)

    xero_invoice = forwarding.xero_invoice_for(invoice_id)
    assert status["state"] == "in_xero"
    assert status["xero_id"] == xero_invoice["InvoiceID"]
    assert status["invoice_number"] == xero_invoice["InvoiceNumber"] != ""


async def test_a_payment_xero_never_got_reads_failed_until_a_retry_gets_it_there(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    payment_id = phone.create_payment(invoice_id, "115.00")
    archive_output2(forwarding)
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    payment = pulled(phone, "payment", payment_id, Payment)
    assert (payment.status, payment.sync.state) == ("FAILED", "failed")
    status = await upload_status(forwarding, phone, payment_id)
    assert (status["state"], status["field"]) == ("failed", "payment.invoice_id")
    assert status["message"].startswith("not sent: invoice")

    archive_output2(forwarding, "ACTIVE")
    invoice_upload = await upload_of(forwarding, invoice_id)
    retried = await forwarding.admin.post(f"/admin/api/uploads/{invoice_upload['id']}/retry")
    assert retried.status_code == 202, retried.text
    await settle(forwarding.admin, within=30)
    await phone.refresh()

    payment = pulled(phone, "payment", payment_id, Payment)
    assert (payment.status, payment.sync.state) == ("AUTHORISED", "in_xero")


async def test_a_failed_upload_replaced_by_a_correction_reads_superseded(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    archive_output2(forwarding)
    await phone.upload()
    await settle(forwarding.admin)
    failed = await upload_status(forwarding, phone, invoice_id)
    assert failed["state"] == "failed"

    archive_output2(forwarding, "ACTIVE")
    phone.create_invoice(
        customer, [Line("1", "120.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )
    await phone.upload()
    await settle(forwarding.admin)

    headers = {**PROTOCOL, "Authorization": f"Bearer {phone.token}"}
    async with httpx.AsyncClient(base_url=str(forwarding.admin.base_url), headers=headers) as http:
        response = await http.get(f"/mobile/v1/uploads/{failed['mutation_id']}")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "superseded"
    assert (await upload_status(forwarding, phone, invoice_id))["state"] == "in_xero"
