# ruff: noqa: S608 - SQL here interpolates only module constants; every value is a bound parameter.
"""Our own writes are not evidence.

A value the write-back wrote is a copy of another record's value. If identity matched on it,
a name fix (`A.` → `Alexa`) or a filled phone would add links that were not there before the
write, move records between persons, and the next plan would follow them: the run would never
settle (rule 4). So for identity, a record's field whose current value is still the one we wrote
reads as it was before our write; a user's later edit (a different value) or a rollback (the old
value back) makes the current value count again.

- `store_in` keeps, per record and field we wrote, the value written and the record's identity
  columns as they were right before the write (int_person_records, which at write time still
  holds the extraction the plan was made from), in the transaction that logs the outcomes. A
  second write over a first one that still stood keeps the first one's "before".
- `refresh_evidence` finds the writes that still stand (the current value compared with the
  written one normalised: case, spaces and punctuation aside) into STANDING_TABLE, once per
  identity step, and creates EVIDENCE_VIEW: int_person_records with those columns put back.
  Identity reads records through it; governance keeps reading the real current values, so the
  plan compares its winners with what the target really holds. Only records with a write on
  record are joined.
- Survivorship reads STANDING_TABLE too (dbt macro own_write_votes): a record still holding our
  write votes for what it held before, not as one more supporter of the value we copied to it.
- The global id we write is one of those values: while it stands, identity does not take it as
  a must-link (stable_ids keeps the ids stable without it).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa

RECORDS_TABLE = "intermediate.int_person_records"
FIELD_DICTIONARY = "rules.field_dictionary"
OWN_WRITES = "writeback.own_writes"
EVIDENCE_VIEW = "identity.person_records_as_evidence"
STANDING_TABLE = "identity.own_writes_standing"  # per record: which of our writes still stand

# Per canonical field (identity_rules/field_dictionary.yaml), the int_person_records columns
# its value determines: the first is the one compared with the written value, the rest derive
# from it (normalised forms, parsed numbers, mail-domain flags). Fields identity never reads
# (consent flags, status) are left out: a write to them changes no match.
RECORD_COLUMNS_OF_FIELD: dict[str, tuple[str, ...]] = {
    "global_person_id": ("written_global_person_id",),
    "given_name": ("given_name", "given_name_norm"),
    "family_name": ("family_name", "family_name_norm"),
    "email": ("email", "email_norm", "email_local", "email_domain", "is_free_mail", "is_role_mailbox"),
    "phone": ("phone_raw", "phone_e164", "phone_is_valid", "phone_write_form"),
    "mobile": ("mobile_raw", "mobile_e164", "mobile_is_valid", "mobile_write_form"),
    "company": ("company", "company_norm"),
    "street": ("street",),
    "city": ("city",),
    "postal_code": ("postal_code",),
    "state": ("state",),
    "birthdate": ("birthdate",),
    "country_code": ("country_code",),
}
BEFORE_COLUMNS = tuple(c for columns in RECORD_COLUMNS_OF_FIELD.values() for c in columns)


def _fields_in(columns: set[str]) -> dict[str, tuple[str, ...]]:
    """RECORD_COLUMNS_OF_FIELD as far as int_person_records has the columns (a stand-in table in
    a test may hold fewer): a field whose written column is missing is left out."""
    return {name: tuple(c for c in cols if c in columns)
            for name, cols in RECORD_COLUMNS_OF_FIELD.items() if cols[0] in columns}


def _record_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """int_person_records' columns → their SQL types."""
    schema, name = RECORDS_TABLE.split(".", 1)
    return dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall())


def value_key(expression: str) -> str:
    """SQL: the form two values are "still the same" in: case, spaces, punctuation and symbols
    aside (`+1 415-256-2970;ext=7872` and `+14152562970;ext=7872`; `alexa` and `Alexa`)."""
    kept = "'[^\\p{L}\\p{N}@]+'"
    return f"nullif(regexp_replace(lower(trim(({expression})::varchar)), {kept}, '', 'g'), '')"


def _current_value_sql(record: str, field: str, fields: dict[str, tuple[str, ...]]) -> str:
    """SQL: the record column a write of `field` (a column) lands in."""
    whens = " ".join(f"WHEN '{name}' THEN {record}.{columns[0]}::varchar"
                     for name, columns in fields.items())
    return f"CASE {field} {whens} END"


DDL = f"""CREATE TABLE IF NOT EXISTS {OWN_WRITES} (
    record_key VARCHAR, field VARCHAR, written_value VARCHAR, run_id VARCHAR, "at" TIMESTAMPTZ,
    {', '.join(f'before_{c} VARCHAR' for c in BEFORE_COLUMNS)})"""


def _exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".", 1)
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]).fetchall()[0][0])


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS writeback")
    con.execute(DDL)
    for column in BEFORE_COLUMNS:  # a column a later version keeps too: empty for older writes
        con.execute(f"ALTER TABLE {OWN_WRITES} ADD COLUMN IF NOT EXISTS before_{column} VARCHAR")


def store_in(con: duckdb.DuckDBPyConnection, run_id: str, applied: list[dict]) -> int:
    """Keep what records held before the applied writes `applied` (changes_log rows: source,
    object, record_id, field = API name, new_value), inside the caller's transaction."""
    if not applied or not (_exists(con, RECORDS_TABLE) and _exists(con, FIELD_DICTIONARY)):
        return 0  # no warehouse models yet (a bare write-back): nothing to keep apart
    ensure_table(con)
    incoming = pa.table({
        "record_key": [f"{r['source']}:{r['object']}:{r['record_id']}" for r in applied],
        "object": [r["object"] for r in applied],
        "api_name": [r["field"] for r in applied],
        "written_value": pa.array([r["new_value"] for r in applied], pa.string()),
    })
    present = _fields_in(set(_record_columns(con)))
    kept_columns = {c for columns in present.values() for c in columns}
    befores = ", ".join(
        f"CASE WHEN kept.record_key IS NOT NULL THEN kept.before_{c} ELSE r.{c}::varchar END AS before_{c}"
        for c in BEFORE_COLUMNS if c in kept_columns)
    con.register("own_writes_incoming", incoming)
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE own_writes_new AS
                WITH written AS (
                    SELECT DISTINCT ON (i.record_key, d.field) i.record_key, d.field, i.written_value
                    FROM own_writes_incoming AS i
                    JOIN {FIELD_DICTIONARY} AS d
                        ON d.kind = 'central' AND d.object = i.object AND d.api_name = i.api_name
                    WHERE d.field IN (SELECT unnest(?::VARCHAR[]))
                ),
                -- an earlier write of ours the record still held when this one replaced it:
                -- what the record had before that one is still the "before"
                kept AS (
                    SELECT o.* FROM {OWN_WRITES} AS o
                    JOIN written AS w ON w.record_key = o.record_key AND w.field = o.field
                    JOIN {RECORDS_TABLE} AS r ON r.record_key = o.record_key
                    WHERE {value_key(_current_value_sql('r', 'o.field', present))}
                          IS NOT DISTINCT FROM {value_key('o.written_value')}
                )
                SELECT w.record_key, w.field, w.written_value, ? AS run_id, ? AS "at", {befores}
                FROM written AS w
                JOIN {RECORDS_TABLE} AS r ON r.record_key = w.record_key
                LEFT JOIN kept ON kept.record_key = w.record_key AND kept.field = w.field""",
            [list(present), run_id, datetime.now(UTC)],
        )
        con.execute(
            f"""DELETE FROM {OWN_WRITES} AS o USING own_writes_new AS n
                WHERE o.record_key = n.record_key AND o.field = n.field""")
        con.execute(f"INSERT INTO {OWN_WRITES} BY NAME SELECT * FROM own_writes_new")
        return con.execute("SELECT count(*) FROM own_writes_new").fetchall()[0][0]
    finally:
        con.unregister("own_writes_incoming")


def refresh_evidence_sql(types: dict[str, str]) -> str:
    """STANDING_TABLE: per record whose written value still stands in some field, which fields
    (own_fields, and an own_<field> flag each) and what their columns held before (before_<column>,
    read by governance's survivorship votes too); `types` maps record columns to their SQL types."""
    fields = _fields_in(set(types))
    flags = ", ".join(f"bool_or(field = '{name}') AS own_{name}" for name in fields)
    befores = ", ".join(
        f"TRY_CAST(any_value(before_{c}) FILTER (WHERE field = '{name}') AS {types[c]}) AS before_{c}"
        for name, columns in fields.items() for c in columns)
    return f"""CREATE OR REPLACE TABLE {STANDING_TABLE} AS
        WITH standing AS (
            SELECT o.*
            FROM {OWN_WRITES} AS o
            JOIN {RECORDS_TABLE} AS r ON r.record_key = o.record_key
            WHERE {value_key(_current_value_sql('r', 'o.field', fields))}
                  IS NOT DISTINCT FROM {value_key('o.written_value')}
              AND o.field IN ({', '.join(f"'{name}'" for name in fields)})
        )
        SELECT record_key, list(DISTINCT field ORDER BY field) AS own_fields, {flags}, {befores}
        FROM standing GROUP BY record_key"""


def evidence_view_sql(columns: set[str]) -> str:
    """EVIDENCE_VIEW: int_person_records (`columns`) with STANDING_TABLE's "before" values put back."""
    replaced = ", ".join(
        f"CASE WHEN s.own_{name} THEN s.before_{c} ELSE r.{c} END AS {c}"
        for name, kept in _fields_in(columns).items() for c in kept)
    return f"""CREATE OR REPLACE VIEW {EVIDENCE_VIEW} AS
        SELECT r.* REPLACE ({replaced})
        FROM {RECORDS_TABLE} AS r
        LEFT JOIN {STANDING_TABLE} AS s ON s.record_key = r.record_key"""


def evidence_exists(con: duckdb.DuckDBPyConnection) -> bool:
    return _exists(con, EVIDENCE_VIEW) and _exists(con, STANDING_TABLE)


def refresh_evidence(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute which of our writes still stand (one join of this table with the records) and
    (re)create EVIDENCE_VIEW over it (write connection); returns how many records hold one.
    Identity steps call it first."""
    if not _exists(con, RECORDS_TABLE):
        return 0
    ensure_table(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS identity")
    types = _record_columns(con)
    if not _fields_in(set(types)):  # no column our writes land in: the records as they are
        con.execute(f"CREATE OR REPLACE TABLE {STANDING_TABLE} AS "
                    "SELECT NULL::VARCHAR AS record_key, []::VARCHAR[] AS own_fields LIMIT 0")
        con.execute(f"CREATE OR REPLACE VIEW {EVIDENCE_VIEW} AS SELECT * FROM {RECORDS_TABLE}")
        return 0
    con.execute(refresh_evidence_sql(types))
    con.execute(evidence_view_sql(set(types)))
    return con.execute(f"SELECT count(*) FROM {STANDING_TABLE}").fetchall()[0][0]
