"""The one table of verdict marks: `solve`, `check` and `quiz` show the same symbol for
the same verdict, with an ASCII fallback.

An erratum (a published value the file itself marks as wrong and corrects) is not
the ✗ of a wrong value: it is a known mistake, and the file passes.
"""

from __future__ import annotations

VERDICT_SYMBOLS = {"correct": "✓", "consistent": "≈", "wrong": "✗", "imprecise": "±",
                   "erratum": "!"}
VERDICT_ASCII = {"correct": "[ok]", "consistent": "[~]", "wrong": "[x]", "imprecise": "[+-]",
                 "erratum": "[erratum]"}


def verdict_mark(verdict: str | None, ascii_only: bool = False) -> str:
    """The mark of ``verdict`` ('' without one)."""
    return (VERDICT_ASCII if ascii_only else VERDICT_SYMBOLS).get(verdict or "", "")


def verdict_counts(verdicts: list[str | None]) -> str:
    """'12 correct, 1 consistent, 10 errata' in the order of the table ('' for none)."""
    counts = {verdict: 0 for verdict in VERDICT_SYMBOLS}
    for verdict in verdicts:
        if verdict in counts:
            counts[verdict] += 1
    return ", ".join(f"{n} {verdict if verdict != 'erratum' or n == 1 else 'errata'}"
                     for verdict, n in counts.items() if n)
