"""Settings name only accounts phones can use, and phones get every account settings can name."""

from __future__ import annotations

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Account, Payment
from tests.forwarding.conftest import SALES, Forwarding, settle

# The sandbox's seeded "Clearing Account": a current liability with "enable payments to this account".
CLEARING = "855"


def account_codes_on(phone: Phone) -> set[str]:
    return {
        msgspec.json.decode(payload, type=Account).code for payload in phone.store.records("account").values()
    }


async def test_phones_get_every_account_the_settings_offer(forwarding: Forwarding, phone: Phone) -> None:
    offered = set()
    for kind in ("BANK", "REVENUE"):
        response = await forwarding.admin.get("/admin/api/accounts", params={"type": kind})
        assert response.status_code == 200, response.text
        offered |= {account["code"] for account in response.json()}

    await phone.refresh()

    assert CLEARING in offered
    assert offered <= account_codes_on(phone)


async def test_a_payments_account_that_is_not_a_bank_account_takes_phone_payments_into_xero(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(bank_account_code=CLEARING)
    await phone.refresh()
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    payment_id = phone.create_payment(invoice_id, "40.00")  # no account: the organisation's

    results = await phone.upload()
    await settle(forwarding.admin)

    assert [(r.status, r.code) for r in results] == [("applied", None), ("applied", None)]
    [paid] = forwarding.xero_org.payments.values()
    assert forwarding.account_code(paid["Account"]["AccountID"]) == CLEARING
    await phone.refresh()
    payment = msgspec.json.decode(phone.store.record("payment", payment_id) or b"", type=Payment)
    assert payment.sync is not None
    assert payment.sync.state == "in_xero"
