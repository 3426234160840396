"""Check 8: no real-looking personal data.

Every user email must be on a reserved domain (RFC 2606 / 6761). No free-text column of the
contract (`schema.py`) may hold an email address, a phone number, a Luhn-valid card number or a
national-ID number (US SSN, UK NINO). Only rows holding a digit or an '@' reach the regular
expressions. Findings show a masked fragment only: the first and last two characters.
"""

from __future__ import annotations

from synthgen.contract import free_text_columns
from synthgen.fidelity.checks.base import INTEGRITY, Check
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import SUSPECT, message_profile
from synthgen.fidelity.results import Finding, Metric, Outcome, exact
from synthgen.schema import TABLES, quote_literal

RESERVED_EMAIL = r"[^@\s]+@([a-z0-9-]+\.)*(example\.(com|org|net)|test|example|invalid|localhost)"
PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "phone": r"(\+\d{1,3}[ .-]?)?(\(\d{3}\) ?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b|\+\d{8,15}\b",
    "national_id": r"\b\d{3}-\d{2}-\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
}
CARD = r"\b(\d[ -]?){12,18}\d\b"
LABELS = {
    "email": "email addresses in text columns",
    "phone": "phone numbers in text columns",
    "national_id": "national-ID numbers (US SSN, UK NINO) in text columns",
    "payment_card": "payment-card numbers (Luhn-valid) in text columns",
}
SAMPLES = 5
EMAIL_COLUMN = ("users", "email")  # held to the stricter reserved-domain rule instead
TEXT_COLUMNS = tuple(tc for tc in free_text_columns() if tc != EMAIL_COLUMN)
MESSAGE_BODY = ("messages", "content")


# A row no pattern can match fails this one cheap test, which each pattern implies: an email
# has '@'; a phone '+', '(' or digits split by a separator; an SSN digits split by '-'; a NINO two
# capitals then two digits; a card 13+ digits, run together or split by separators. One pass of
# it spares the four patterns every well-formed value (a storage key like att/c12/a345.jpg).
PREFILTER = r"[@+(]|\d[ .-]\d|\d{13}|[A-Z]{2} ?\d\d"


def _suspect(column: str) -> str:
    """Rows that can match a pattern."""
    return f'regexp_matches("{column}", {quote_literal(PREFILTER)})'


MACROS = r"""
CREATE OR REPLACE TEMP MACRO fid_luhn(d) AS (
    list_sum(list_transform(range(length(d)), lambda i:
        CASE WHEN i % 2 = 1
             THEN (2 * CAST(substr(d, length(d) - i, 1) AS INTEGER)) % 10
                  + (2 * CAST(substr(d, length(d) - i, 1) AS INTEGER)) // 10
             ELSE CAST(substr(d, length(d) - i, 1) AS INTEGER) END)) % 10 = 0);
CREATE OR REPLACE TEMP MACRO fid_mask(h) AS (
    CASE WHEN length(h) <= 6 THEN repeat('*', length(h))
         ELSE left(h, 2) || repeat('*', length(h) - 4) || right(h, 2) END)
"""


def run(ctx: CheckContext) -> Outcome:
    """Scan emails for reserved domains and text columns for PII patterns."""
    ctx.query(MACROS)
    metrics: list[Metric] = []
    findings: list[Finding] = []
    reserved = quote_literal(RESERVED_EMAIL)
    bad, samples = ctx.query(
        f"""
        SELECT count(*), list([id::VARCHAR, fid_mask(email)] ORDER BY id)[1:{SAMPLES}]
        FROM users WHERE email IS NULL OR NOT regexp_full_match(email, {reserved}, 'i')
        """
    )[0]
    metrics.append(exact("user emails not on a reserved domain", int(bad)))
    findings += [
        Finding("email not on a reserved domain", "users", "email", i, m) for i, m in samples or []
    ]
    counts = dict.fromkeys(LABELS, 0)
    for pattern, table, column, n, hits in _text_hits(ctx):
        counts[pattern] += int(n)
        findings += [Finding(pattern, table, column, i, m) for i, m in hits]
    metrics += [exact(LABELS[p], counts[p]) for p in LABELS]
    return Outcome(metrics=metrics, findings=findings)


def _text_hits(ctx: CheckContext) -> list[tuple[str, str, str, int, list[list[str]]]]:
    sources = []
    for t, c in TEXT_COLUMNS:
        if (t, c) == MESSAGE_BODY:  # the shared content scan already counted its suspects
            where = SUSPECT if message_profile(ctx).suspects else None
        else:
            where = _suspect(c)
        if where is not None:
            row_id = " || ',' || ".join(f'"{k}"::VARCHAR' for k in TABLES[t].primary_key)
            sources.append(
                f"SELECT '{t}' AS tbl, '{c}' AS col, {row_id} AS id, \"{c}\" AS v "
                f"FROM {t} WHERE {where}"
            )
    if not sources:
        return []
    union = "\n            UNION ALL ".join(sources)
    simple = "\n            UNION ALL ".join(
        f"SELECT tbl, col, id, '{name}' AS pattern, regexp_extract(v, {quote_literal(rx)}) AS hit "
        f"FROM texts WHERE regexp_matches(v, {quote_literal(rx)})"
        for name, rx in PATTERNS.items()
    )
    rows = ctx.query(
        f"""
        WITH texts AS MATERIALIZED (
            {union}),
        hits AS (
            {simple}
            UNION ALL
            SELECT tbl, col, id, 'payment_card', hit FROM (
                SELECT tbl, col, id, unnest(regexp_extract_all(v, {quote_literal(CARD)})) AS hit
                FROM texts WHERE regexp_matches(v, {quote_literal(CARD)}))
            WHERE fid_luhn(regexp_replace(hit, '[^0-9]', '', 'g')))
        SELECT pattern, tbl, col, count(*),
               list([id, fid_mask(hit)] ORDER BY id)[1:{SAMPLES}]
        FROM hits GROUP BY ALL ORDER BY ALL
        """
    )
    return [(str(p), str(t), str(c), int(n), list(h or [])) for p, t, c, n, h in rows]


CHECK = Check(8, "pii", "PII absence", INTEGRITY, run)
