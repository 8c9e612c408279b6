"""Every error code the server sends, in one table: the HTTP error envelope's ``code``, a rejected
mutation's ``code`` and a WatermelonDB rejection's ``code`` all come from here, and so do the codes
of the admin API and the health check. ``docs/protocol.md`` lists the same table (a test checks they
agree). Codes are never renamed; new ones may be added.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # Request-level errors (the HTTP error envelope).
    BAD_REQUEST = "bad_request"
    INVALID_INPUT = "invalid_input"
    MALFORMED_JSON = "malformed_json"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    UNSUPPORTED_PROTOCOL_VERSION = "unsupported_protocol_version"
    UNAUTHENTICATED = "unauthenticated"
    DEVICE_TOKEN_REQUIRED = "device_token_required"
    DEVICE_REVOKED = "device_revoked"
    PAIRING_CODE_INVALID = "pairing_code_invalid"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    RESYNC_REQUIRED = "resync_required"
    # Mutation-level rejections (a push's per-mutation result).
    TOTALS_MISMATCH = "totals_mismatch"
    UNKNOWN_CUSTOMER = "unknown_customer"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_TAX_TYPE = "unknown_tax_type"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_TRACKING_OPTION = "unknown_tracking_option"
    TRACKING_OPTION_ARCHIVED = "tracking_option_archived"
    UNKNOWN_BRANDING_THEME = "unknown_branding_theme"
    UNKNOWN_INVOICE = "unknown_invoice"
    UNKNOWN_PAYMENT = "unknown_payment"
    PAYMENT_EXCEEDS_AMOUNT_DUE = "payment_exceeds_amount_due"
    INVOICE_NOT_EDITABLE = "invoice_not_editable"
    INVOICE_HAS_PAYMENTS = "invoice_has_payments"
    ALREADY_VOIDED = "already_voided"
    ID_TAKEN = "id_taken"
    CODE_TAKEN = "code_taken"
    DEPENDENCY_REJECTED = "dependency_rejected"
    MUTATION_ID_REUSED = "mutation_id_reused"
    INVALID_VALUE = "invalid_value"
    INVOICE_EDITS_NOT_FORWARDED = "invoice_edits_not_forwarded"
    INVOICE_EMAILS_NOT_ALLOWED = "invoice_emails_not_allowed"
    NO_BANK_ACCOUNT = "no_bank_account"
    # Said of an upload Xero took (``in_xero``), not a rejection (docs/forwarding.md).
    XERO_TOTALS_DIFFER = "xero_totals_differ"
    # The WatermelonDB endpoints (docs/watermelondb.md).
    PUSH_CONFLICT = "push_conflict"
    READ_ONLY = "read_only"
    NOT_DELETABLE = "not_deletable"
    # Any endpoint: what the framework or a service answers without a more precise code.
    ERROR = "error"
    MALFORMED_BODY = "malformed_body"
    FORBIDDEN = "forbidden"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"
    # The admin API and console (docs/admin-console.md).
    SESSION_REQUIRED = "session_required"
    BAD_CREDENTIALS = "bad_credentials"
    SIGN_IN_LOCKED = "sign_in_locked"
    ADMIN_EXISTS = "admin_exists"
    XERO_NOT_CONFIGURED = "xero_not_configured"
    OAUTH_STATE_INVALID = "oauth_state_invalid"
    XERO_ACCESS_DENIED = "xero_access_denied"
    XERO_CONNECT_FAILED = "xero_connect_failed"
    XERO_NO_TENANT = "xero_no_tenant"
    XERO_NO_OFFLINE_ACCESS = "xero_no_offline_access"
    XERO_NOT_CONNECTED = "xero_not_connected"
    XERO_NEEDS_RECONNECT = "xero_needs_reconnect"
    SYNC_IN_PROGRESS = "sync_in_progress"
    SYNC_RUN_NOT_FOUND = "sync_run_not_found"
    UPLOAD_NOT_FOUND = "upload_not_found"
    UPLOAD_NOT_RETRYABLE = "upload_not_retryable"
    INVALID_ACCOUNT = "invalid_account"
    # The health check (docs/operations.md).
    DATABASE_UNREACHABLE = "database_unreachable"
    MIGRATIONS_PENDING = "migrations_pending"


ERROR_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "The request is not acceptable as sent.",
    ErrorCode.INVALID_INPUT: "A field has the wrong type or an unacceptable value; `details.field` names it.",
    ErrorCode.MALFORMED_JSON: "The body is not valid JSON.",
    ErrorCode.BODY_TOO_LARGE: "The body is larger than the server accepts (413).",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "The body is not sent as `application/json` (415).",
    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION: (
        "The protocol version header is missing or outside `details.supported` (`min`, `max`)."
    ),
    ErrorCode.UNAUTHENTICATED: "The device token is unknown.",
    ErrorCode.DEVICE_TOKEN_REQUIRED: "No `Authorization: Bearer <device token>` header was sent.",
    ErrorCode.DEVICE_REVOKED: "An admin revoked this device; pair it again.",
    ErrorCode.PAIRING_CODE_INVALID: "The pairing code is unknown, expired or used already.",
    ErrorCode.NOT_FOUND: "No such resource in this device's organisation.",
    ErrorCode.RATE_LIMITED: "Too many requests from this device; wait `Retry-After` seconds (429).",
    ErrorCode.RESYNC_REQUIRED: (
        "The cursor is older than the tombstone horizon or from before a mirror reset: pull again "
        "without a cursor (a snapshot) and replace the local mirror."
    ),
    ErrorCode.TOTALS_MISMATCH: (
        "An amount the phone computed differs from the server's Xero-rounded one; "
        "`details.expected` and `details.got` show both."
    ),
    ErrorCode.UNKNOWN_CUSTOMER: "The customer id is not in the mirror nor uploaded before.",
    ErrorCode.UNKNOWN_PRODUCT: "The product id is not in the mirror.",
    ErrorCode.UNKNOWN_TAX_TYPE: "The tax type is not one of the organisation's tax rates.",
    ErrorCode.UNKNOWN_ACCOUNT: "The account code is not one of the organisation's accounts.",
    ErrorCode.UNKNOWN_TRACKING_OPTION: (
        "A line's tracking names an option that is not one of the organisation's tracking options, "
        "or two options of one category."
    ),
    ErrorCode.TRACKING_OPTION_ARCHIVED: (
        "A line's tracking names an option (or an option of a category) archived in Xero."
    ),
    ErrorCode.UNKNOWN_BRANDING_THEME: "The branding theme id is not one of the organisation's themes.",
    ErrorCode.UNKNOWN_INVOICE: "The invoice id is not in the mirror nor uploaded before.",
    ErrorCode.UNKNOWN_PAYMENT: "The payment id was never uploaded.",
    ErrorCode.PAYMENT_EXCEEDS_AMOUNT_DUE: "The payment is larger than the invoice's amount due.",
    ErrorCode.INVOICE_NOT_EDITABLE: "The invoice is voided or paid and can no longer be changed.",
    ErrorCode.INVOICE_HAS_PAYMENTS: "An invoice with payments cannot be voided; delete the payments first.",
    ErrorCode.ALREADY_VOIDED: "The invoice or payment is voided or deleted already.",
    ErrorCode.ID_TAKEN: "The record id belongs to a record of another kind.",
    ErrorCode.CODE_TAKEN: "Another product of the organisation has this code (Xero's item codes are unique).",
    ErrorCode.DEPENDENCY_REJECTED: "The mutation refers to a record whose own mutation was rejected.",
    ErrorCode.MUTATION_ID_REUSED: "The mutation id was used before for a different mutation.",
    ErrorCode.INVALID_VALUE: "A value is well-typed but not acceptable (e.g. a negative quantity).",
    ErrorCode.INVOICE_EDITS_NOT_FORWARDED: (
        "The invoice is in Xero already and this organisation does not forward invoice edits."
    ),
    ErrorCode.INVOICE_EMAILS_NOT_ALLOWED: (
        "This organisation does not let phones have Xero email invoices (`email_invoices` is off)."
    ),
    ErrorCode.NO_BANK_ACCOUNT: (
        "The payment names no bank account and the organisation has not chosen one for payments."
    ),
    ErrorCode.XERO_TOTALS_DIFFER: (
        "Not a rejection: Xero took the invoice but its sub total, tax or total differ from the phone's; "
        "the upload's message and the sync log's error (`details`) say by how much."
    ),
    ErrorCode.PUSH_CONFLICT: (
        "A pushed record changed on the server after `last_pulled_at` (`details.table`, `details.id`); "
        "nothing was applied: pull, then push again."
    ),
    ErrorCode.READ_ONLY: "The table comes from Xero; a phone cannot change it.",
    ErrorCode.NOT_DELETABLE: "Records of this table cannot be deleted from a phone.",
    ErrorCode.ERROR: "A refusal without a code of its own (the status says what kind).",
    ErrorCode.MALFORMED_BODY: "The body does not have the shape the endpoint takes.",
    ErrorCode.FORBIDDEN: (
        "The credentials are fine but the action is not allowed (e.g. a missing CSRF token)."
    ),
    ErrorCode.METHOD_NOT_ALLOWED: "The path does not take this HTTP method.",
    ErrorCode.CONFLICT: "The request clashes with the current state.",
    ErrorCode.UNAVAILABLE: (
        "A dependency (the database, Xero) cannot serve now, e.g. the database is out of connections "
        "or restarting; retry after `Retry-After` seconds."
    ),
    ErrorCode.INTERNAL_ERROR: "An unexpected error; it has been logged, its details are never sent.",
    ErrorCode.SESSION_REQUIRED: "The admin API needs a session: sign in first (or it has expired).",
    ErrorCode.BAD_CREDENTIALS: "The email or password is wrong.",
    ErrorCode.SIGN_IN_LOCKED: (
        "Too many failed sign-ins for this email from this address; wait `Retry-After` seconds."
    ),
    ErrorCode.ADMIN_EXISTS: "An admin with this email exists already.",
    ErrorCode.XERO_NOT_CONFIGURED: "No Xero app is configured (`LEDGERSYNC_XERO_CLIENT_ID`).",
    ErrorCode.OAUTH_STATE_INVALID: "The Xero connect state is unknown or expired; connect again.",
    ErrorCode.XERO_ACCESS_DENIED: "Xero did not grant access on its consent page.",
    ErrorCode.XERO_CONNECT_FAILED: "Xero refused to complete the connection.",
    ErrorCode.XERO_NO_TENANT: "No Xero organisation was chosen on the consent page.",
    ErrorCode.XERO_NO_OFFLINE_ACCESS: "Xero granted no refresh token (`offline_access`); connect again.",
    ErrorCode.XERO_NOT_CONNECTED: "The organisation is not connected to Xero.",
    ErrorCode.XERO_NEEDS_RECONNECT: "Xero no longer accepts the organisation's tokens; reconnect it.",
    ErrorCode.SYNC_IN_PROGRESS: "A sync of the organisation is running already.",
    ErrorCode.SYNC_RUN_NOT_FOUND: "No such sync run in this organisation.",
    ErrorCode.UPLOAD_NOT_FOUND: "No such upload in this organisation.",
    ErrorCode.UPLOAD_NOT_RETRYABLE: "Only failed, held or retrying uploads can be retried.",
    ErrorCode.INVALID_ACCOUNT: (
        "The account code is not one of the organisation's mirrored accounts of that kind."
    ),
    ErrorCode.DATABASE_UNREACHABLE: "The database cannot be reached (health check, 503).",
    ErrorCode.MIGRATIONS_PENDING: "The database schema is not at the latest migration (health check, 503).",
}
