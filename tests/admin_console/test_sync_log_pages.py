"""The sync log's pages: runs newest first, and a run's errors with Xero's words and plain hints."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.models import Organisation
from server.db.types import utcnow
from server.kinds.invoice import NO_REVENUE_ACCOUNT
from server.services.error_hints import hint_for
from tests.admin_console.conftest import Console

# Xero's wording of its common validation errors (the sandbox says the same).
ACCOUNT_CODE = "Account code '999' is not a valid code for this document."
TAX_TYPE = "The TaxType code 'NOPE' does not exist or cannot be used for this type of transaction."
EMAIL = "Email address must be valid."
DUPLICATE = (
    "The contact name Acme Ltd is already assigned to another contact. The contact name must be unique."
)
OVERPAID = "Payment amount exceeds the amount outstanding on this document."


def test_each_common_xero_error_has_a_plain_hint_and_others_have_none() -> None:
    hints = [hint_for(message) for message in (ACCOUNT_CODE, TAX_TYPE, EMAIL, DUPLICATE, OVERPAID)]
    assert all(hints)
    assert len(set(hints)) == 5
    assert "Settings" in (hints[0] or "")
    assert "amount due" in (hints[4] or "")
    assert hint_for("The service is temporarily unavailable") is None


async def seed_run(database: Database, organisation_id: uuid.UUID, **fields: object) -> uuid.UUID:
    async with database.transaction() as session:
        run = SyncRun(
            organisation_id=organisation_id,
            **{"trigger": "manual", "types": "customers", "errors": [], **fields},
        )
        session.add(run)
        await session.flush()
        return run.id


async def organisation_of(console: Console) -> uuid.UUID:
    return uuid.UUID((await console.http.get("/admin/api/session")).json()["organisation_id"])


async def test_a_runs_page_lists_every_error_with_xero_message_and_hint(
    signed_in: Console, database: Database
) -> None:
    run_id = await seed_run(
        database,
        await organisation_of(signed_in),
        status="failed",
        finished_at=utcnow(),
        errors=[
            {
                "data_type": "customers",
                "message": "Xero refused it",
                "xero_messages": [EMAIL, DUPLICATE],
                "record": None,
            },
            {
                "data_type": "customers",
                "message": "Xero refused it",
                "xero_messages": ["Something rare."],
                "record": None,
            },
        ],
    )
    page = await signed_in.open(f"/admin/sync-log/{run_id}")
    assert page.status_code == 200
    assert "Errors (2)" in page.text
    for said in (EMAIL, "Something rare."):
        assert said in page.text
    assert "is already assigned to another contact" in page.text
    assert page.text.count("What to do:") == 2  # the email and the duplicate name; the rare one has none
    assert (hint_for(EMAIL) or "") in html.unescape(page.text)


async def test_a_forwarding_runs_page_says_who_said_each_message_once(
    signed_in: Console, database: Database
) -> None:
    refused = "Account code '270' is not a valid code for this document."
    run_id = await seed_run(
        database,
        await organisation_of(signed_in),
        kind="forward",
        types="invoice",
        status="failed",
        finished_at=utcnow(),
        errors=[
            # As forwarding runs logged them before errors carried a voice: the message twice over.
            {"data_type": "invoice", "message": refused, "xero_messages": [refused], "record": "a"},
            {
                "data_type": "invoice",
                "message": NO_REVENUE_ACCOUNT,
                "xero_messages": [NO_REVENUE_ACCOUNT],
                "record": "b",
            },
            {
                "data_type": "payment",
                "message": "Xero did not answer in time",
                "voice": "ledgersync",
                "xero_messages": [],
                "retrying": True,
                "record": "c",
            },
        ],
    )
    page = await signed_in.open(f"/admin/sync-log/{run_id}")
    text = html.unescape(page.text)
    assert text.count(refused) == 1
    assert text.count(NO_REVENUE_ACCOUNT) == 1
    assert text.count("Xero refused:") == 1
    assert text.count("ledgersync could not send:") == 2
    assert "Xero said" not in text
    assert "Choose a revenue account for sales in Settings" in text
    assert "ledgersync tries again by itself" in text


async def test_the_log_lists_runs_newest_first_with_counts_and_status(
    signed_in: Console, database: Database
) -> None:
    organisation = await organisation_of(signed_in)
    now = utcnow()
    await seed_run(
        database, organisation, status="succeeded", started_at=now - timedelta(hours=2), fetched=41
    )
    await seed_run(database, organisation, status="failed", started_at=now - timedelta(hours=1), fetched=7)
    page = await signed_in.open("/admin/sync-log")
    assert page.text.index("✗ Failed") < page.text.index("✓ Succeeded")
    assert ">41<" in page.text
    assert ">7<" in page.text


async def test_another_organisations_run_is_not_found(signed_in: Console, database: Database) -> None:
    async with database.transaction() as session:
        other = Organisation(name="Elsewhere")
        session.add(other)
        await session.flush()
        other_id = other.id
    run_id = await seed_run(database, other_id, status="succeeded")
    page = await signed_in.open(f"/admin/sync-log/{run_id}")
    assert page.status_code == 404
    assert "no such sync run" in page.text
