"""The WatermelonDB endpoints over real HTTP: pull shapes, push translation, conflicts, rejections."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from server.db.database import Database
from tests.factories import customer, product, publish_entities, standard_mirror, tax_rate
from tests.fixtures.devices import PairDevice

PULL = "/mobile/v1/watermelon/pull"
PUSH = "/mobile/v1/watermelon/push"


def empty() -> dict[str, Any]:
    return {"created": [], "updated": [], "deleted": []}


def new_id() -> str:
    return str(uuid.uuid4())


def a_customer(customer_id: str, name: str = "Harbour Cafe") -> dict[str, Any]:
    return {"id": customer_id, "name": name, "email": "", "_status": "created", "_changed": ""}


def an_invoice(
    invoice_id: str, customer_id: str, total: str = "114.89"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    header = {
        "id": invoice_id,
        "customer_id": customer_id,
        "reference": "Job 7",
        "date": "2026-11-20",
        "due_date": None,
        "line_amount_type": "Exclusive",
        "sub_total": "99.90",
        "total_tax": "14.99",
        "total": total,
        "_status": "created",
        "_changed": "",
    }
    lines = [
        {
            "id": f"line{invoice_id[:8]}a",
            "invoice_id": invoice_id,
            "position": 0,
            "description": "Tap washer kit",
            "product_id": product(1).id,
            "quantity": "2",
            "unit_amount": "49.95",
            "discount_rate": None,
            "account_code": None,
            "tax_type": "OUTPUT2",
            "line_amount": "99.90",
            "tax_amount": "14.99",
        }
    ]
    return header, lines


async def pull(mobile: httpx.AsyncClient, last_pulled_at: int | None = None) -> dict[str, Any]:
    response = await mobile.get(
        PULL, params={"last_pulled_at": "null" if last_pulled_at is None else last_pulled_at}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def push(mobile: httpx.AsyncClient, last_pulled_at: int, changes: dict[str, Any]) -> httpx.Response:
    return await mobile.post(PUSH, params={"last_pulled_at": last_pulled_at}, json=changes)


async def test_first_pull_lists_every_record_as_created_with_a_positive_timestamp(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())

    body = await pull(mobile)

    assert body["timestamp"] > 0
    assert "experimentalStrategy" not in body
    changes = body["changes"]
    assert {r["id"] for r in changes["customers"]["created"]} == {customer(n).id for n in (1, 2, 3)}
    assert [r["tax_type"] for r in changes["tax_rates"]["created"]] == ["OUTPUT2", "NONE"]
    assert changes["products"]["created"][0]["unit_price"] == "49.95"
    assert all("_status" not in r and "_changed" not in r for t in changes.values() for r in t["created"])
    again = await pull(mobile, body["timestamp"])
    assert again["timestamp"] == body["timestamp"]
    assert all(t == empty() for t in again["changes"].values())


async def test_an_empty_organisation_still_gets_a_timestamp_above_zero(mobile: httpx.AsyncClient) -> None:
    body = await pull(mobile)

    assert body["timestamp"] >= 1


async def test_pushed_customer_invoice_and_payment_come_back_as_updated_with_their_upload_state(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    customer_id, invoice_id, payment_id = new_id(), new_id(), new_id()
    header, lines = an_invoice(invoice_id, customer_id)
    payment = {
        "id": payment_id,
        "invoice_id": invoice_id,
        "account_code": "090",
        "date": "2026-11-20",
        "amount": "50.00",
    }

    response = await push(
        mobile,
        first["timestamp"],
        {
            "customers": {**empty(), "created": [a_customer(customer_id)]},
            "invoices": {**empty(), "created": [header]},
            "invoice_lines": {**empty(), "created": lines},
            "payments": {**empty(), "created": [payment]},
        },
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"experimentalRejectedIds": {}, "rejections": []}
    after = await pull(mobile, first["timestamp"])
    changes = after["changes"]
    assert changes["customers"]["created"] == []
    assert [r["id"] for r in changes["customers"]["updated"]] == [customer_id]
    assert changes["customers"]["updated"][0]["sync_state"] == "accepted"
    invoice = changes["invoices"]["updated"][0]
    assert (invoice["id"], invoice["amount_due"], invoice["sync_state"]) == (invoice_id, "64.89", "waiting")
    assert [r["id"] for r in changes["invoice_lines"]["updated"]] == [lines[0]["id"]]
    assert changes["payments"]["updated"][0]["sync_state"] == "waiting"


async def test_a_repushed_create_is_one_record_and_one_upload(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    customer_id = new_id()
    changes = {"customers": {**empty(), "created": [a_customer(customer_id)]}}

    assert (await push(mobile, first["timestamp"], changes)).status_code == 200
    again = await push(mobile, first["timestamp"], changes)

    assert again.status_code == 200, again.text
    assert again.json()["experimentalRejectedIds"] == {}
    status = await mobile.get("/mobile/v1/changes", params={"cursor": first["timestamp"] - 1})
    assert [c["id"] for c in status.json()["changes"]] == [customer_id]


async def test_a_record_changed_on_the_server_after_the_pull_fails_the_push_with_a_conflict(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    await publish_entities(server_db, acme_id, [customer(1, "Renamed in Xero")])
    edited = {**a_customer(customer(1).id, "Edited on the phone"), "_status": "updated", "_changed": "name"}

    response = await push(mobile, first["timestamp"], {"customers": {**empty(), "updated": [edited]}})

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "push_conflict"
    second = await pull(mobile, first["timestamp"])
    retried = await push(mobile, second["timestamp"], {"customers": {**empty(), "updated": [edited]}})
    assert retried.status_code == 200, retried.text


async def test_an_invalid_invoice_is_rejected_by_id_while_the_rest_apply(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    customer_id, good_id, bad_id = new_id(), new_id(), new_id()
    good, good_lines = an_invoice(good_id, customer_id)
    bad, bad_lines = an_invoice(bad_id, customer_id, total="999.99")

    response = await push(
        mobile,
        first["timestamp"],
        {
            "customers": {**empty(), "created": [a_customer(customer_id)]},
            "invoices": {**empty(), "created": [good, bad]},
            "invoice_lines": {**empty(), "created": good_lines + bad_lines},
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["experimentalRejectedIds"] == {"invoices": [bad_id], "invoice_lines": [bad_lines[0]["id"]]}
    assert body["rejections"][0]["code"] == "totals_mismatch"
    after = await pull(mobile, first["timestamp"])
    rows = {r["id"]: r for r in after["changes"]["invoices"]["updated"]}
    assert rows[good_id]["sync_state"] == "waiting"
    assert rows[bad_id] == {
        "id": bad_id,
        "sync_state": "rejected",
        "sync_mutation_id": rows[bad_id]["sync_mutation_id"],
        "sync_message": body["rejections"][0]["message"],
        "sync_code": "totals_mismatch",
        "sync_field": "invoice.total",
    }
    replay = await push(
        mobile,
        after["timestamp"],
        {"invoices": {**empty(), "created": [bad]}, "invoice_lines": {**empty(), "created": bad_lines}},
    )
    assert replay.json()["experimentalRejectedIds"] == body["experimentalRejectedIds"]


async def test_records_another_device_uploaded_arrive_as_created_and_own_ones_as_updated(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    other = (await pair_device("Other")).headers
    first = await pull(mobile)
    mine, theirs = new_id(), new_id()
    assert (
        await push(mobile, first["timestamp"], {"customers": {**empty(), "created": [a_customer(mine)]}})
    ).status_code == 200
    other_pull = (await client.get(PULL, params={"last_pulled_at": 0}, headers=other)).json()
    response = await client.post(
        PUSH,
        params={"last_pulled_at": other_pull["timestamp"]},
        json={"customers": {**empty(), "created": [a_customer(theirs, "Theirs Ltd")]}},
        headers=other,
    )
    assert response.status_code == 200, response.text

    changes = (await pull(mobile, first["timestamp"]))["changes"]["customers"]

    assert [r["id"] for r in changes["created"]] == [theirs]
    assert [r["id"] for r in changes["updated"]] == [mine]


async def test_deleting_unknown_ids_is_ignored_and_deleted_payments_and_invoices_stay_deleted_everywhere(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    invoice_id, payment_id = new_id(), new_id()
    header, lines = an_invoice(invoice_id, customer(1).id)
    payment = {
        "id": payment_id,
        "invoice_id": invoice_id,
        "account_code": "090",
        "date": "2026-11-20",
        "amount": "10.00",
    }
    created = await push(
        mobile,
        first["timestamp"],
        {
            "invoices": {**empty(), "created": [header]},
            "invoice_lines": {**empty(), "created": lines},
            "payments": {**empty(), "created": [payment]},
        },
    )
    assert created.json()["experimentalRejectedIds"] == {}
    second = await pull(mobile, first["timestamp"])

    unknown = await push(
        mobile,
        second["timestamp"],
        {
            name: {**empty(), "deleted": [new_id()]}
            for name in ("customers", "invoices", "invoice_lines", "payments")
        },
    )
    deleted = await push(mobile, second["timestamp"], {"payments": {**empty(), "deleted": [payment_id]}})
    third = await pull(mobile, second["timestamp"])
    voided = await push(
        mobile,
        third["timestamp"],
        {
            "invoices": {**empty(), "deleted": [invoice_id]},
            "invoice_lines": {**empty(), "deleted": [lines[0]["id"]]},
        },
    )

    assert unknown.status_code == 200, unknown.text
    assert unknown.json() == {"experimentalRejectedIds": {}, "rejections": []}
    assert deleted.json()["experimentalRejectedIds"] == {}
    assert voided.json()["experimentalRejectedIds"] == {}
    # They do not come back to this device as VOIDED / DELETED rows: they are deleted records.
    changes = (await pull(mobile, second["timestamp"]))["changes"]
    assert changes["payments"] == {**empty(), "deleted": [payment_id]}
    assert changes["invoices"] == {**empty(), "deleted": [invoice_id]}
    assert changes["invoice_lines"] == {**empty(), "deleted": [lines[0]["id"]]}
    # Other devices learn it the same way, and a new device never gets them.
    other = (await pair_device("Other")).headers
    fresh = (await client.get(PULL, params={"last_pulled_at": 0}, headers=other)).json()["changes"]
    assert fresh["payments"]["created"] == []
    assert fresh["invoices"]["created"] == []
    assert fresh["invoice_lines"]["created"] == []
    native = await mobile.get("/mobile/v1/changes", params={"cursor": second["timestamp"] - 1})
    states = {c["id"]: c["record"]["status"] for c in native.json()["changes"] if c["record"]}
    assert (states[invoice_id], states[payment_id]) == ("VOIDED", "DELETED")  # native phones: statuses


async def test_removing_a_line_edits_the_invoice_and_the_pull_deletes_the_line(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    invoice_id = new_id()
    header, [line] = an_invoice(invoice_id, customer(1).id)
    extra = {**line, "id": "extraline0001", "position": 1}
    two_lines = {**header, "sub_total": "199.80", "total_tax": "29.98", "total": "229.78"}
    await push(
        mobile,
        first["timestamp"],
        {
            "invoices": {**empty(), "created": [two_lines]},
            "invoice_lines": {**empty(), "created": [line, extra]},
        },
    )
    second = await pull(mobile, first["timestamp"])
    assert [r["id"] for r in second["changes"]["invoice_lines"]["updated"]] == [line["id"], "extraline0001"]

    response = await push(
        mobile,
        second["timestamp"],
        {
            "invoices": {**empty(), "updated": [{**header, "_status": "updated", "_changed": "total"}]},
            "invoice_lines": {**empty(), "deleted": ["extraline0001"]},
        },
    )

    assert response.json()["experimentalRejectedIds"] == {}, response.text
    changes = (await pull(mobile, second["timestamp"]))["changes"]
    assert changes["invoices"]["updated"][0]["total"] == "114.89"
    assert [r["id"] for r in changes["invoice_lines"]["updated"]] == [line["id"]]
    assert changes["invoice_lines"]["deleted"] == ["extraline0001"]


async def test_read_only_tables_are_rejected_and_tables_ledgersync_does_not_know_are_ignored(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)

    response = await push(
        mobile,
        first["timestamp"],
        {
            "tax_rates": {**empty(), "updated": [{"id": tax_rate("OUTPUT2").id, "rate": "0.0000"}]},
            "drafts_of_my_app": {**empty(), "created": [{"id": "local1", "text": "only on the phone"}]},
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["experimentalRejectedIds"] == {"tax_rates": [tax_rate("OUTPUT2").id]}
    assert response.json()["rejections"][0]["code"] == "read_only"


async def test_a_push_needs_last_pulled_at_and_safe_ids(mobile: httpx.AsyncClient) -> None:
    without = await mobile.post(PUSH, json={})
    unsafe = await push(mobile, 1, {"customers": {**empty(), "created": [{"id": "../etc", "name": "x"}]}})

    assert without.status_code == 400
    assert without.json()["error"]["details"]["field"] == "last_pulled_at"
    assert unsafe.status_code == 400
    assert unsafe.json()["error"]["details"]["field"] == "customers.created[0].id"


async def test_an_app_whose_schema_migrated_gets_the_whole_data_set_as_a_replacement(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    migration = '{"from":1,"tables":[],"columns":[{"table":"customers","columns":["tax_number"]}]}'

    response = await mobile.get(PULL, params={"last_pulled_at": first["timestamp"], "migration": migration})

    body = response.json()
    assert body["experimentalStrategy"] == "replacement"
    assert {r["id"] for r in body["changes"]["customers"]["updated"]} == {customer(n).id for n in (1, 2, 3)}


async def test_a_customer_deletion_is_rejected_and_the_customer_comes_back_to_the_app_as_created(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)

    response = await push(mobile, first["timestamp"], {"customers": {**empty(), "deleted": [customer(1).id]}})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["experimentalRejectedIds"] == {"customers": [customer(1).id]}
    assert body["rejections"][0]["code"] == "not_deletable"
    after = await pull(mobile, first["timestamp"])
    restored = after["changes"]["customers"]
    assert [r["id"] for r in restored["created"]] == [customer(1).id]  # WatermelonDB re-creates it
    assert restored["created"][0]["name"] == customer(1).name
    assert (restored["created"][0]["sync_state"], restored["created"][0]["sync_code"]) == (
        "rejected",
        "not_deletable",
    )
    assert restored["updated"] == []
    assert restored["deleted"] == []
    again = await pull(mobile, after["timestamp"])
    assert again["changes"]["customers"] == empty()


async def test_a_refused_void_is_rejected_and_the_invoice_comes_back_with_its_lines_as_created(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    first = await pull(mobile)
    invoice_id, payment_id = new_id(), new_id()
    header, lines = an_invoice(invoice_id, customer(1).id)
    payment = {"id": payment_id, "invoice_id": invoice_id, "account_code": "090", "date": "2026-11-20"}
    await push(
        mobile,
        first["timestamp"],
        {
            "invoices": {**empty(), "created": [header]},
            "invoice_lines": {**empty(), "created": lines},
            "payments": {**empty(), "created": [{**payment, "amount": "10.00"}]},
        },
    )
    second = await pull(mobile, first["timestamp"])

    response = await push(
        mobile,
        second["timestamp"],
        {
            "invoices": {**empty(), "deleted": [invoice_id]},
            "invoice_lines": {**empty(), "deleted": [lines[0]["id"]]},
        },
    )

    body = response.json()
    assert body["experimentalRejectedIds"] == {"invoices": [invoice_id], "invoice_lines": [lines[0]["id"]]}
    assert body["rejections"][0]["code"] == "invoice_has_payments"
    changes = (await pull(mobile, second["timestamp"]))["changes"]
    [invoice] = changes["invoices"]["created"]
    assert (invoice["id"], invoice["status"], invoice["amount_due"]) == (invoice_id, "AUTHORISED", "104.89")
    assert (invoice["sync_state"], invoice["sync_code"]) == ("rejected", "invoice_has_payments")
    assert [r["id"] for r in changes["invoice_lines"]["created"]] == [lines[0]["id"]]
    assert changes["invoices"]["updated"] == []
    assert changes["invoice_lines"]["updated"] == []


async def test_a_line_another_device_added_to_an_invoice_this_app_holds_arrives_as_created(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    other = (await pair_device("Other")).headers
    first = await pull(mobile)
    invoice_id = new_id()
    header, [line] = an_invoice(invoice_id, customer(1).id)
    await push(
        mobile,
        first["timestamp"],
        {"invoices": {**empty(), "created": [header]}, "invoice_lines": {**empty(), "created": [line]}},
    )
    theirs = (await client.get(PULL, params={"last_pulled_at": 0}, headers=other)).json()
    assert [r["id"] for r in theirs["changes"]["invoice_lines"]["created"]] == [line["id"]]
    mine = await pull(mobile, first["timestamp"])
    extra = {**line, "id": "addedline0001", "position": 1}
    two_lines = {
        **header,
        "sub_total": "199.80",
        "total_tax": "29.98",
        "total": "229.78",
        "_status": "updated",
    }

    response = await push(
        mobile,
        mine["timestamp"],
        {"invoices": {**empty(), "updated": [two_lines]}, "invoice_lines": {**empty(), "created": [extra]}},
    )

    assert response.json()["experimentalRejectedIds"] == {}, response.text
    seen_there = (
        await client.get(PULL, params={"last_pulled_at": theirs["timestamp"]}, headers=other)
    ).json()
    lines_there = seen_there["changes"]["invoice_lines"]
    assert [r["id"] for r in lines_there["created"]] == ["addedline0001"]  # the other device never had it
    assert [r["id"] for r in lines_there["updated"]] == [line["id"]]
    assert [r["id"] for r in seen_there["changes"]["invoices"]["updated"]] == [invoice_id]
    lines_here = (await pull(mobile, mine["timestamp"]))["changes"]["invoice_lines"]
    assert lines_here["created"] == []  # this device pushed it
    assert [r["id"] for r in lines_here["updated"]] == [line["id"], "addedline0001"]


def washer_line() -> dict[str, Any]:
    """A native invoice line: two tap washer kits (99.90 + 14.99 GST)."""
    return {
        "description": "Tap washer kit",
        "product_id": product(1).id,
        "quantity": "2",
        "unit_amount": "49.95",
        "tax_type": "OUTPUT2",
        "line_amount": "99.90",
        "tax_amount": "14.99",
    }


async def test_lines_a_native_edit_removed_are_deleted_on_watermelondb_apps(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    app = (await pair_device("WatermelonDB app")).headers
    invoice_id = new_id()
    line = washer_line()
    invoice = {"id": invoice_id, "customer_id": customer(1).id, "date": "2026-11-20", "lines": [line, line]}
    totals = {"sub_total": "199.80", "total_tax": "29.98", "total": "229.78"}

    async def native_upsert(body: dict[str, Any]) -> None:
        response = await mobile.post(
            "/mobile/v1/mutations",
            json={"mutations": [{"op": "upsert_invoice", "mutation_id": new_id(), "invoice": body}]},
        )
        assert response.json()["results"][0]["status"] == "applied", response.text

    await native_upsert({**invoice, **totals})
    first = (await client.get(PULL, params={"last_pulled_at": 0}, headers=app)).json()
    assert [r["id"] for r in first["changes"]["invoice_lines"]["created"]] == [
        f"{invoice_id}-l0",
        f"{invoice_id}-l1",
    ]

    await native_upsert(
        {**invoice, "lines": [line], "sub_total": "99.90", "total_tax": "14.99", "total": "114.89"}
    )

    changes = (await client.get(PULL, params={"last_pulled_at": first["timestamp"]}, headers=app)).json()[
        "changes"
    ]
    assert [r["id"] for r in changes["invoice_lines"]["updated"]] == [f"{invoice_id}-l0"]
    assert changes["invoice_lines"]["deleted"] == [f"{invoice_id}-l1"]


async def test_an_invoice_shortened_then_voided_elsewhere_is_deleted_on_apps_with_every_line_they_had(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    client.headers.update((await pair_device("WatermelonDB app")).headers)
    invoice_id = new_id()
    line = washer_line()
    invoice = {"id": invoice_id, "customer_id": customer(1).id, "date": "2026-11-20", "lines": [line, line]}

    async def native(mutation: dict[str, Any]) -> None:
        response = await mobile.post(
            "/mobile/v1/mutations", json={"mutations": [{"mutation_id": new_id(), **mutation}]}
        )
        assert response.json()["results"][0]["status"] == "applied", response.text

    await native(
        {
            "op": "upsert_invoice",
            "invoice": {**invoice, "sub_total": "199.80", "total_tax": "29.98", "total": "229.78"},
        }
    )
    first = await pull(client)
    assert len(first["changes"]["invoice_lines"]["created"]) == 2

    # Between two of the app's syncs a native phone takes a line off, then voids the invoice.
    shorter = {**invoice, "lines": [line], "sub_total": "99.90", "total_tax": "14.99", "total": "114.89"}
    await native({"op": "upsert_invoice", "invoice": shorter})
    await native({"op": "void_invoice", "invoice_id": invoice_id})

    changes = (await pull(client, first["timestamp"]))["changes"]
    assert changes["invoices"]["deleted"] == [invoice_id]
    assert sorted(changes["invoice_lines"]["deleted"]) == [f"{invoice_id}-l0", f"{invoice_id}-l1"]


async def test_an_apps_lines_a_native_edit_removed_are_deleted_on_watermelondb_apps(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    client.headers.update((await pair_device("WatermelonDB app")).headers)
    invoice_id = new_id()
    header, [line] = an_invoice(invoice_id, customer(1).id, total="229.78")
    header.update(sub_total="199.80", total_tax="29.98")
    second = {**line, "id": f"line{invoice_id[:8]}b", "position": 1}
    first = await pull(client)
    created = {
        "invoices": {**empty(), "created": [header]},
        "invoice_lines": {**empty(), "created": [line, second]},
    }
    assert (await push(client, first["timestamp"], created)).json()["rejections"] == []
    after = await pull(client, first["timestamp"])

    # A native phone takes the second line off the app's invoice.
    body = {
        "id": invoice_id,
        "customer_id": customer(1).id,
        "date": "2026-11-20",
        "reference": "Job 7",
        "lines": [washer_line()],
        "sub_total": "99.90",
        "total_tax": "14.99",
        "total": "114.89",
    }
    response = await mobile.post(
        "/mobile/v1/mutations",
        json={"mutations": [{"op": "upsert_invoice", "mutation_id": new_id(), "invoice": body}]},
    )
    assert response.json()["results"][0]["status"] == "applied", response.text

    changes = (await pull(client, after["timestamp"]))["changes"]
    assert [r["id"] for r in changes["invoice_lines"]["updated"]] == [line["id"]]
    assert changes["invoice_lines"]["deleted"] == [second["id"]]


async def test_an_app_removing_a_line_of_an_invoice_made_elsewhere_removes_it_from_the_invoice(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    # Found by the convergence test: the app's deletion of a line it got as "<invoice>-l1" was taken
    # for a line the server never had, so the app lost the line while every other device kept it.
    await publish_entities(server_db, acme_id, standard_mirror())
    app = (await pair_device("WatermelonDB app")).headers
    invoice_id = new_id()
    line = washer_line()
    native = await mobile.post(
        "/mobile/v1/mutations",
        json={
            "mutations": [
                {
                    "op": "upsert_invoice",
                    "mutation_id": new_id(),
                    "invoice": {
                        "id": invoice_id,
                        "customer_id": customer(1).id,
                        "date": "2026-11-20",
                        "lines": [line, line],
                        "sub_total": "199.80",
                        "total_tax": "29.98",
                        "total": "229.78",
                    },
                }
            ]
        },
    )
    assert native.json()["results"][0]["status"] == "applied", native.text
    first = (await client.get(PULL, params={"last_pulled_at": 0}, headers=app)).json()
    one_line = {"sub_total": "99.90", "total_tax": "14.99", "total": "114.89"}
    header = {**first["changes"]["invoices"]["created"][0], **one_line}

    response = await client.post(
        PUSH,
        params={"last_pulled_at": first["timestamp"]},
        json={
            "invoices": {
                **empty(),
                "updated": [{**header, "_status": "updated", "_changed": "sub_total,total_tax,total"}],
            },
            "invoice_lines": {**empty(), "deleted": [f"{invoice_id}-l1"]},
        },
        headers=app,
    )

    assert response.status_code == 200, response.text
    assert response.json()["experimentalRejectedIds"] == {}, response.text
    record = next(
        c["record"]
        for c in (await mobile.get("/mobile/v1/changes", params={"cursor": 0})).json()["changes"]
        if c["id"] == invoice_id
    )
    assert len(record["lines"]) == 1
    assert record["total"] == "114.89"
    fresh = (await pair_device("Fresh app")).headers
    lines = (await client.get(PULL, params={"last_pulled_at": 0}, headers=fresh)).json()["changes"]
    assert [r["id"] for r in lines["invoice_lines"]["created"]] == [f"{invoice_id}-l0"]


async def test_a_line_an_app_replaced_with_its_own_is_deleted_on_the_other_apps_that_held_it(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    # Found by the convergence test (seed 17): an app deleted "<invoice>-l1" of a natively made
    # invoice and added a line of its own in its place; another app kept "<invoice>-l1" for good.
    await publish_entities(server_db, acme_id, standard_mirror())
    editor = (await pair_device("WatermelonDB app")).headers
    other = (await pair_device("Another app")).headers
    invoice_id = new_id()
    line = washer_line()
    totals = {"sub_total": "199.80", "total_tax": "29.98", "total": "229.78"}
    native = await mobile.post(
        "/mobile/v1/mutations",
        json={
            "mutations": [
                {
                    "op": "upsert_invoice",
                    "mutation_id": new_id(),
                    "invoice": {
                        "id": invoice_id,
                        "customer_id": customer(1).id,
                        "date": "2026-11-20",
                        "lines": [line, line],
                        **totals,
                    },
                }
            ]
        },
    )
    assert native.json()["results"][0]["status"] == "applied", native.text
    held = (await client.get(PULL, params={"last_pulled_at": 0}, headers=other)).json()
    first = (await client.get(PULL, params={"last_pulled_at": 0}, headers=editor)).json()
    [header] = first["changes"]["invoices"]["created"]
    [_, second] = first["changes"]["invoice_lines"]["created"]
    replacement = {**second, "id": new_id(), "position": 1, "description": "Brass washer"}

    response = await client.post(
        PUSH,
        params={"last_pulled_at": first["timestamp"]},
        json={
            "invoices": {**empty(), "updated": [{**header, "_status": "updated", "_changed": "reference"}]},
            "invoice_lines": {
                **empty(),
                "created": [{**replacement, "_status": "created", "_changed": ""}],
                "deleted": [f"{invoice_id}-l1"],
            },
        },
        headers=editor,
    )
    assert response.json()["experimentalRejectedIds"] == {}, response.text

    changes = (await client.get(PULL, params={"last_pulled_at": held["timestamp"]}, headers=other)).json()[
        "changes"
    ]
    assert f"{invoice_id}-l1" in changes["invoice_lines"]["deleted"]
    assert replacement["id"] in [r["id"] for r in changes["invoice_lines"]["created"]]


async def _an_app_holding_its_invoice(
    client: httpx.AsyncClient, pair_device: PairDevice, server_db: Database, acme_id: uuid.UUID
) -> tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """An app that pushed an invoice and pulled after: (invoice id, header row, line rows, that pull)."""
    await publish_entities(server_db, acme_id, standard_mirror())
    client.headers.update((await pair_device("WatermelonDB app")).headers)
    invoice_id = new_id()
    header, lines = an_invoice(invoice_id, customer(1).id)
    first = await pull(client)
    created = {"invoices": {**empty(), "created": [header]}, "invoice_lines": {**empty(), "created": lines}}
    assert (await push(client, first["timestamp"], created)).json()["rejections"] == []
    synced = await pull(client, first["timestamp"])
    return invoice_id, header, lines, synced


async def _void_elsewhere(mobile: httpx.AsyncClient, invoice_id: str) -> None:
    """A native phone voids the invoice."""
    voided = await mobile.post(
        "/mobile/v1/mutations",
        json={"mutations": [{"op": "void_invoice", "mutation_id": new_id(), "invoice_id": invoice_id}]},
    )
    assert voided.json()["results"][0]["status"] == "applied", voided.text


async def test_a_refused_edit_of_an_invoice_voided_elsewhere_reaches_the_app_as_a_deletion_only(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    # Found by the convergence test (seed 12): the rejection note of an app's edit went out as a
    # partial "updated" row for an invoice the server had voided; WatermelonDB creates a record
    # from an update it does not hold, so the app kept an invoice no other device has.
    invoice_id, header, _lines, synced = await _an_app_holding_its_invoice(
        client, pair_device, server_db, acme_id
    )
    wrong = {**header, "total": "1.00", "_status": "updated", "_changed": "total"}
    refused = await push(client, synced["timestamp"], {"invoices": {**empty(), "updated": [wrong]}})
    assert list(refused.json()["experimentalRejectedIds"]) == ["invoices"], refused.text
    await _void_elsewhere(mobile, invoice_id)

    changes = (await pull(client, synced["timestamp"]))["changes"]

    assert changes["invoices"]["deleted"] == [invoice_id]
    assert invoice_id not in [
        r["id"] for r in changes["invoices"]["updated"] + changes["invoices"]["created"]
    ]


async def test_a_line_an_app_added_to_an_invoice_voided_elsewhere_leaves_the_app_with_the_invoice(
    mobile: httpx.AsyncClient,
    client: httpx.AsyncClient,
    pair_device: PairDevice,
    server_db: Database,
    acme_id: uuid.UUID,
) -> None:
    # Found by the convergence test (seed 6): the app's new line was refused with its invoice, which
    # another device had voided; the invoice reached the app as a deletion, the line did not, so the
    # app kept a line of no invoice, unsynced and with no reason.
    invoice_id, _header, lines, synced = await _an_app_holding_its_invoice(
        client, pair_device, server_db, acme_id
    )
    await _void_elsewhere(mobile, invoice_id)
    added = {**lines[0], "id": new_id(), "position": len(lines)}
    new_line = {"invoice_lines": {**empty(), "created": [added]}}
    assert (await push(client, synced["timestamp"], new_line)).status_code == 409
    after_void = await pull(client, synced["timestamp"])
    assert after_void["changes"]["invoices"]["deleted"] == [invoice_id]
    refused = await push(client, after_void["timestamp"], new_line)
    assert added["id"] in refused.json()["experimentalRejectedIds"]["invoice_lines"], refused.text

    changes = (await pull(client, after_void["timestamp"]))["changes"]

    assert added["id"] in changes["invoice_lines"]["deleted"]
