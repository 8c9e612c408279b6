"""Xero's OAuth scopes: which an app may ask for at authorize, and which an API call needs.

Apps created on or after 2 March 2026 ("new-style", the default of ``RegisteredClient``) can no longer
ask for the broad ``accounting.transactions`` and ``accounting.reports.read``: they use the granular
scopes (``accounting.invoices``, ``accounting.payments``, ...). Older apps ("old-style",
``RegisteredClient(broad_scopes=True)``) may ask for either until Xero retires the broad ones.

Per call, a resource is readable with any of its scopes (or their ``.read`` variants) and writable with
the full scope only; a call without one gets Xero's 401 ``AuthorizationUnsuccessful``.
"""

from __future__ import annotations

# Everything the sandbox serves, in granular scopes: what the control API's tokens carry by default.
DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.settings accounting.contacts accounting.invoices "
    "accounting.payments"
)
BROAD = frozenset({"accounting.transactions", "accounting.transactions.read", "accounting.reports.read"})

_OPENID = {"openid", "profile", "email", "offline_access"}
_ACCOUNTING = {
    "accounting.settings",
    "accounting.contacts",
    "accounting.invoices",
    "accounting.payments",
    "accounting.banktransactions",
    "accounting.manualjournals",
    "accounting.attachments",
    "accounting.budgets",
    "accounting.journals",
}
_READ_ONLY = {
    "accounting.reports.aged.read",
    "accounting.reports.balancesheet.read",
    "accounting.reports.profitandloss.read",
    "accounting.reports.trialbalance.read",
    "accounting.reports.banksummary.read",
    "accounting.reports.budgetsummary.read",
    "accounting.reports.executivesummary.read",
    "accounting.reports.tenninetynine.read",
    "accounting.reports.taxreports.read",
}
# Xero's other APIs: the sandbox serves none of them, but an app may ask for them.
_OTHER_APIS = {
    "files",
    "assets",
    "projects",
    "payroll.employees",
    "payroll.timesheets",
    "payroll.payruns",
    "payroll.payslip",
    "payroll.settings",
}
KNOWN = frozenset(
    _OPENID
    | _ACCOUNTING
    | _OTHER_APIS
    | {f"{s}.read" for s in _ACCOUNTING | _OTHER_APIS}
    | _READ_ONLY
    | BROAD
)

# The scopes giving access to each resource the sandbox serves (write access: the ones without .read).
_RESOURCE_SCOPES: dict[str, tuple[str, ...]] = {
    "organisation": ("accounting.settings",),
    "accounts": ("accounting.settings",),
    "taxrates": ("accounting.settings",),
    "trackingcategories": ("accounting.settings",),
    "brandingthemes": ("accounting.settings",),
    # Items are settings, and also part of the invoices scope (Xero's granular scope table).
    "items": ("accounting.settings", "accounting.invoices"),
    "contacts": ("accounting.contacts",),
    "invoices": ("accounting.invoices", "accounting.transactions"),
    "payments": ("accounting.payments", "accounting.transactions"),
}


def authorize_problem(scope: str, broad_allowed: bool) -> str | None:
    """Xero's error for a scope an app may not ask for (shown on its page), or None."""
    asked = scope.split()
    unknown = [s for s in asked if s not in KNOWN]
    if unknown:
        return f"invalid_scope: {' '.join(unknown)}"
    if not broad_allowed and any(s in BROAD for s in asked):
        return "unauthorized_client: Invalid scope for client"
    return None


def allows(granted: str, resource: str, write: bool) -> bool:
    """Whether a grant of ``granted`` scopes may call ``resource`` (the path segment after /2.0/)."""
    needed = _RESOURCE_SCOPES.get(resource.lower())
    if needed is None:
        return True
    have = set(granted.split())
    return any(s in have or (not write and f"{s}.read" in have) for s in needed)
