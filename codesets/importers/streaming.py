"""Helpers the CMS file importers share: reading headers, turning broken streams into plain
errors, and writing millions of rows fast inside the import transaction.
"""

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from django.db import connection, models

from codesets.importers.base import BATCH_SIZE, ImportContext, batched, head_bytes


def first_csv_rows(path: Path, n: int = 3, encoding: str = "utf-8", size: int = 16384) -> list:
    """The first `n` CSV rows of a (maybe gzipped) file, read from its first bytes only.

    Quoted cells may span lines (the CMS notice row), so rows are parsed, not split on newlines.
    A row cut off by the byte limit is returned as read; callers compare only header cells.
    """
    text = head_bytes(path, size).decode(encoding, errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        rows.append(row)
        if len(rows) >= n:
            break
    return rows


def header_is(path: Path, expected: list[str], encoding: str = "utf-8") -> bool:
    rows = first_csv_rows(path, 1, encoding)
    if not rows:
        return False
    header = [cell.strip().lstrip("\ufeff").lower() for cell in rows[0]]
    return header == [name.lower() for name in expected]


@contextmanager
def readable(what: str) -> Iterator[None]:
    """Report a broken compressed stream as a plain ValueError naming the expected file.

    services.release_import rolls the transaction back and marks the release failed for
    ValueError; zlib and gzip errors would otherwise escape as unexpected crashes.
    """
    try:
        yield
    except EOFError as exc:
        raise ValueError(f"The file ends early (truncated download?); expected {what}.") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(f"The compressed data is damaged ({exc}); expected {what}.") from exc


def insert_rows(
    ctx: ImportContext,
    model: type[models.Model],
    fields: list[str],
    rows: Iterable[tuple],
) -> int:
    """Write tuples (values in `fields` order) into `model`'s table; returns the row count.

    PostgreSQL gets COPY through psycopg 3, an order of magnitude faster than INSERT for the
    NCCI tables of millions of rows; other databases get batched parameterised INSERTs. Either
    way the rows go through the connection Django holds: they are part of the import
    transaction and roll back with it.
    """
    if connection.vendor == "postgresql":
        return _copy_rows(ctx, model, fields, rows)
    return _executemany_rows(ctx, model, fields, rows)


def _columns(model: type[models.Model], fields: list[str]) -> tuple[str, str]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    return quote(model._meta.db_table), columns


def _executemany_rows(
    ctx: ImportContext, model: type[models.Model], fields: list[str], rows: Iterable[tuple]
) -> int:
    # Plain parameterised INSERTs: building 2.5 million model instances for bulk_create
    # took ~10 minutes on SQLite for the practitioner PTP table, this about one.
    table, columns = _columns(model, fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    count = 0
    with connection.cursor() as cursor:
        for batch in batched(rows, BATCH_SIZE):
            cursor.executemany(sql, batch)
            count += len(batch)
            ctx.advance(len(batch))
    return count


def _copy_rows(
    ctx: ImportContext, model: type[models.Model], fields: list[str], rows: Iterable[tuple]
) -> int:
    # Rows are encoded as COPY text here and sent in blocks: psycopg's write_row adapts value
    # by value and was most of the time spent on a 2.5-million-row table.
    table, columns = _columns(model, fields)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for batch in batched(rows, BATCH_SIZE):
            copy.write("".join("\t".join(map(_copy_text, row)) + "\n" for row in batch))
            count += len(batch)
            ctx.advance(len(batch))
    return count


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _copy_text(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    if type(value) is str:
        # Checked first and translated only when needed: this runs millions of times.
        return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
