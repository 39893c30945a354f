"""``dj sql``: read-only queries against ``dj.duckdb``, sealed to the data directory, printed without pandas.

The connection comes from :func:`dj_pipeline.storage.duckdb_catalog.connect_readonly` (no file
access outside the data directory, configuration locked). On top of that only statements that
read are run: DuckDB's ``COPY ... TO`` may still write *inside* the allowed directory, so it, and
every other statement that is not a query, is refused by its parsed statement type before it runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from dj_pipeline.errors import UserError

# Statement types that only read (SHOW/DESCRIBE/SUMMARIZE parse as SELECT, PIVOT as MULTI).
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "MULTI"})
# Why a refused statement type is refused, in the words a person needs.
REFUSAL_REASONS = {
    "COPY": "COPY writes or reads files",
    "EXPORT": "EXPORT DATABASE writes files",
    "ATTACH": "ATTACH opens other databases",
    "DETACH": "DETACH changes the attached databases",
    "LOAD": "INSTALL/LOAD add extensions",
    "SET": "settings are locked",
    "VARIABLE_SET": "settings are locked",
}
CELL_MAX_CHARS = 60


@dataclass
class QueryResult:
    """Column names, the rows fetched (at most ``max_rows`` when limited) and whether more exist."""

    columns: list[str]
    rows: list[tuple]
    truncated: bool


def check_statements(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise ``UserError`` for an empty query or any statement that is not a read."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise UserError(f"SQL error: {first_line(exc)}") from None
    if not statements:
        raise UserError("empty query: give a statement such as \"SELECT * FROM tracks LIMIT 5\"")
    for st in statements:
        kind = st.type.name.removesuffix("_STATEMENT")
        if kind not in READ_STATEMENTS:
            why = REFUSAL_REASONS.get(kind, f"{kind} changes data")
            raise UserError(f"refused: dj sql is read-only ({why}); only queries (SELECT, SHOW, DESCRIBE, EXPLAIN) run")


def run_query(con: duckdb.DuckDBPyConnection, query: str, max_rows: int | None, data_dir: str) -> QueryResult:
    """Run a checked read-only ``query``; the last statement's rows (``max_rows`` None or 0: all)."""
    check_statements(con, query)
    try:
        rel = con.sql(query)
        if rel is None:
            return QueryResult([], [], False)
        columns = list(rel.columns)
        if max_rows:
            rows = rel.limit(max_rows + 1).fetchall()
            return QueryResult(columns, rows[:max_rows], len(rows) > max_rows)
        return QueryResult(columns, rel.fetchall(), False)
    except duckdb.PermissionException as exc:
        raise UserError(f"refused: dj sql reads only files inside the data directory {data_dir} ({first_line(exc)})") from None
    except duckdb.Error as exc:
        raise UserError(f"SQL error: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def to_json(result: QueryResult) -> str:
    """Rows as a JSON list of objects (NaN as null, other values as their JSON form or a string)."""
    records = [{c: _json_value(v) for c, v in zip(result.columns, row)} for row in result.rows]
    return json.dumps(records, default=str)


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    return v


def format_table(result: QueryResult) -> str:
    """A plain text table: a header, one line per row, numbers right-aligned, long cells cut."""
    if not result.columns:
        return ""
    cells = [[_cell(v) for v in row] for row in result.rows]
    numeric = [all(isinstance(r[i], int | float) or r[i] is None for r in result.rows) for i in range(len(result.columns))]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(result.columns)]
    lines = [_join(result.columns, widths, numeric), *(_join(r, widths, numeric) for r in cells)]
    if not result.rows:
        lines.append("(no rows)")
    if result.truncated:
        lines.append(f"... more rows: only the first {len(result.rows)} are shown (--max-rows N, 0 for all)")
    return "\n".join(lines)


def _join(values: Sequence[str], widths: list[int], numeric: list[bool]) -> str:
    return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list | tuple):  # vectors: the first values and the length
        inner = ", ".join(_cell(x) for x in v[:4])
        return f"[{inner}{', ...' if len(v) > 4 else ''}] ({len(v)})"
    text = str(v).replace("\n", " ")
    if isinstance(v, str):  # paths and names are shown whole
        return text
    return text if len(text) <= CELL_MAX_CHARS else text[: CELL_MAX_CHARS - 3] + "..."
