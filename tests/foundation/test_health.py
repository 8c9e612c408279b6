"""The probes operators and load balancers poll."""

import os

import httpx


async def test_healthz_answers_ok_while_the_process_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "process": os.getpid()}  # served in this process


async def test_readyz_reports_a_reachable_database_at_the_latest_migration(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["migrations"] == "current"


async def test_openapi_schema_and_its_ui_are_served_without_any_cdn(client: httpx.AsyncClient) -> None:
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/readyz" in schema.json()["paths"]
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "//cdn" not in page.text
    assert "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert (await client.get(f"/schema-assets/{asset}")).status_code == 200
