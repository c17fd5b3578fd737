"""Regular expressions of the API contract, and what each means in words (for errors)."""

from __future__ import annotations

AMOUNT = r"^[0-9]{1,9}(\.[0-9]{1,2})?$"
_INVISIBLE = r"\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
"""Delete and the C1 controls (NEL among them), zero-width characters and marks, the line
and paragraph separators, and the bidirectional embeddings, overrides and isolates:
characters that hide or reorder what a reader of a name or an audit bundle sees."""
ONE_LINE = rf"^[^\x00-\x1f{_INVISIBLE}]*$"
"""Text without control characters, line breaks or invisible formatting."""
MULTI_LINE = rf"^[^\x00-\x08\x0b\x0c\x0e-\x1f{_INVISIBLE}]*$"
"""Text without control characters other than tab and line breaks, nor invisible
formatting."""
SHA256 = r"^[0-9a-fA-F]{64}$"
KVK = r"^[0-9]{8}$"

MEANING = {
    AMOUNT: "must be a decimal amount such as '1234.56' (at most two decimals)",
    ONE_LINE: "must not contain control characters, line breaks or invisible formatting "
    "(such as U+202E or U+200B)",
    MULTI_LINE: "must not contain control characters or invisible formatting (such as U+202E "
    "or U+200B)",
    SHA256: "must be 64 hexadecimal characters (SHA-256)",
    KVK: "must be exactly 8 digits",
}
