"""Regular expressions of the API contract, and what each means in words (for errors)."""

from __future__ import annotations

AMOUNT = r"^[0-9]{1,9}(\.[0-9]{1,2})?$"
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
"""Text without control characters."""
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Text without control characters other than tab and line breaks."""
SHA256 = r"^[0-9a-fA-F]{64}$"
KVK = r"^[0-9]{8}$"

MEANING = {
    AMOUNT: "must be a decimal amount such as '1234.56' (at most two decimals)",
    ONE_LINE: "must not contain control characters or line breaks",
    MULTI_LINE: "must not contain control characters",
    SHA256: "must be 64 hexadecimal characters (SHA-256)",
    KVK: "must be exactly 8 digits",
}
