"""Every error code a phone can see, in one table: the HTTP error envelope's ``code`` and a
rejected mutation's ``code`` both come from here. ``docs/protocol.md`` lists the same table (a
test checks they agree). Codes are never renamed; new ones may be added.
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
    UNKNOWN_INVOICE = "unknown_invoice"
    UNKNOWN_PAYMENT = "unknown_payment"
    PAYMENT_EXCEEDS_AMOUNT_DUE = "payment_exceeds_amount_due"
    INVOICE_NOT_EDITABLE = "invoice_not_editable"
    INVOICE_HAS_PAYMENTS = "invoice_has_payments"
    ALREADY_VOIDED = "already_voided"
    ID_TAKEN = "id_taken"
    DEPENDENCY_REJECTED = "dependency_rejected"
    MUTATION_ID_REUSED = "mutation_id_reused"
    INVALID_VALUE = "invalid_value"
    INVOICE_EDITS_NOT_FORWARDED = "invoice_edits_not_forwarded"
    NO_BANK_ACCOUNT = "no_bank_account"


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
    ErrorCode.UNKNOWN_INVOICE: "The invoice id is not in the mirror nor uploaded before.",
    ErrorCode.UNKNOWN_PAYMENT: "The payment id was never uploaded.",
    ErrorCode.PAYMENT_EXCEEDS_AMOUNT_DUE: "The payment is larger than the invoice's amount due.",
    ErrorCode.INVOICE_NOT_EDITABLE: "The invoice is voided or paid and can no longer be changed.",
    ErrorCode.INVOICE_HAS_PAYMENTS: "An invoice with payments cannot be voided; delete the payments first.",
    ErrorCode.ALREADY_VOIDED: "The invoice or payment is voided or deleted already.",
    ErrorCode.ID_TAKEN: "The record id belongs to a record of another kind.",
    ErrorCode.DEPENDENCY_REJECTED: "The mutation refers to a record whose own mutation was rejected.",
    ErrorCode.MUTATION_ID_REUSED: "The mutation id was used before for a different mutation.",
    ErrorCode.INVALID_VALUE: "A value is well-typed but not acceptable (e.g. a negative quantity).",
    ErrorCode.INVOICE_EDITS_NOT_FORWARDED: (
        "The invoice is in Xero already and this organisation does not forward invoice edits."
    ),
    ErrorCode.NO_BANK_ACCOUNT: (
        "The payment names no bank account and the organisation has not chosen one for payments."
    ),
}
