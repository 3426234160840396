"""Patterns of personal data: emails, phone numbers, payment cards (Luhn), national ids, IBANs.

Used by the sampler's final output scan (and by its tests). A pattern name is returned, never the
matching text, so a refusal message cannot itself leak what it found.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# a run of digits with the usual separators, not glued to letters (hex digests are not phone
# numbers); judged by its digit count below
DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\+?\(?\d[\d\s().-]{6,}\d(?![0-9A-Za-z])")
US_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum (payment card numbers do)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_pii(text: str) -> list[str]:
    """Names of the PII patterns found in `text` (empty when none)."""
    found: list[str] = []
    if EMAIL.search(text):
        found.append("email address")
    if US_SSN.search(text):
        found.append("national id number")
    if IBAN.search(text):
        found.append("bank account number (IBAN)")
    stripped = ISO_INSTANT.sub(" ", text)  # timestamps are digit runs too, and not personal
    for match in DIGIT_RUN.finditer(stripped):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append("payment card number")
        elif 9 <= len(digits) <= 15:
            found.append("phone number")
    return sorted(set(found))
