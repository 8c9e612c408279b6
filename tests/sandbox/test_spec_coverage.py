"""Every operation the sandbox serves is one of Xero's, so every exchange in these tests is spec-checked."""

from __future__ import annotations

from server.xero_sandbox.accounting import PREFIX, ROUTES
from tests.fixtures.xero_spec import XeroSpec


def test_every_accounting_route_is_a_spec_operation(xero_spec: XeroSpec) -> None:
    for route in ROUTES:
        concrete = PREFIX + route.path.replace(":str}", "}").replace("{", "").replace("}", "")
        operation = xero_spec.find(route.method, concrete)
        assert operation is not None, f"{route.method} {route.path} has no operation in Xero's spec"
        assert operation.operation_id == route.operation_id


def test_identity_connection_routes_are_spec_operations(xero_spec: XeroSpec) -> None:
    get = xero_spec.find("GET", "/connections")
    delete = xero_spec.find("DELETE", "/connections/00000000-0000-0000-0000-000000000000")
    assert get is not None
    assert delete is not None
    assert (get.operation_id, delete.operation_id) == ("getConnections", "deleteConnection")
