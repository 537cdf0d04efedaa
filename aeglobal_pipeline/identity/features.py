"""Matching features: `int_person_records` copied into an in-memory DuckDB and shaped for Splink.

Splink leaves `__splink__*` tables in whatever database it runs on, so identity resolution never
runs on the warehouse: the records are read once (Arrow), matched in memory, and only results
are written back. The feature columns are what matching.yaml may refer to.

The features are a function of FEATURE_INPUTS (and nicknames.yaml and the name placeholders of
value hygiene's seed) only: `features_fingerprint` names that function, and an incremental run
derives features for changed records alone and keeps everyone else's in identity.record_features.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from importlib.metadata import version
from pathlib import Path

import duckdb
import pyarrow as pa
from anyascii import anyascii

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.settings import load_nicknames
from aeglobal_pipeline.warehouse import duckdb_config
from aeglobal_pipeline.writeback import own_writes

# int_person_records as identity reads it: a field whose current value is still the one our
# write-back wrote reads as it was before that write (writeback/own_writes.py: our own writes
# are not evidence). `prepare_source` (re)creates it before an identity step reads it.
SOURCE_TABLE = own_writes.EVIDENCE_VIEW
FEATURES_TABLE = "person_features"
RECORDS_TABLE = "person_records"
STORED_FEATURES_TABLE = "identity.record_features"  # every record's features, as of the last links run

# Columns read from the warehouse (the int_person_records contract).
RECORD_COLUMNS = (
    "record_key", "source", "object", "record_id", "given_name_norm", "family_name_norm",
    "email_norm", "is_role_mailbox", "is_free_mail", "phone_e164", "mobile_e164", "company_norm", "street",
    "city", "postal_code", "birthdate", "country_code", "converted_contact_key", "crm_lead_key",
    "crm_contact_key", "written_global_person_id", "created_at", "is_deleted", "salutation_sex",
)  # fmt: skip
# The record columns FEATURES_SQL reads: the links step loads only these, so a feature reading
# any other column fails loudly instead of escaping the change detection built on them.
FEATURE_INPUTS = (
    "record_key", "source", "object", "given_name_norm", "family_name_norm", "email_norm",
    "is_role_mailbox", "is_free_mail", "phone_e164", "mobile_e164", "company_norm", "street", "city",
    "postal_code", "birthdate", "country_code", "salutation_sex",
)  # fmt: skip
# A record's features change only when this hash of its inputs does (a DuckDB hash: UBIGINT).
INPUTS_HASH_SQL = f"hash({', '.join(FEATURE_INPUTS[1:])})"

# Value hygiene's registry of placeholder values (dbt seed): its `any` and `name` kinds are what
# users type into a mandatory name field ("Unknown", "n/a", "Private", "x").
PLACEHOLDER_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "placeholder_values.csv"
NAME_PLACEHOLDER_KINDS = ("any", "name")

# Generational suffixes as typed into LastName (folded: "Jr." → "jr").
GENERATION_PATTERN = "(jr|jnr|junior|sr|snr|senior|ii|iii|iv)"
# The Python function (`romanize`) the features call for a name part in another script.
ROMANIZE_UDF = "romanize"



def generation_sql(column: str) -> str:
    """SQL: the generational suffix ending a folded family name ('jr', 'sr', 'ii', ...) or NULL;
    `column` is a constant column name."""
    found = f"regexp_extract({column}, '^.+ {GENERATION_PATTERN}$', 1)"
    return (f"CASE {found} WHEN '' THEN NULL WHEN 'jnr' THEN 'jr' WHEN 'junior' THEN 'jr' "
            f"WHEN 'snr' THEN 'sr' WHEN 'senior' THEN 'sr' ELSE {found} END")


def name_script_sql(column: str) -> str:
    """SQL: the script a folded name is written in: cjk (hanzi, kanji, kana, hangul), cyrillic,
    greek, other (Arabic, Hebrew, Thai, ...) or latin. Two names in different scripts are
    compared only through their Latin forms. `column` is a constant SQL expression."""
    return (
        f"CASE WHEN regexp_matches({column}, '[\\p{{Han}}\\p{{Hangul}}\\p{{Hiragana}}\\p{{Katakana}}]') "
        f"THEN 'cjk' WHEN regexp_matches({column}, '\\p{{Cyrillic}}') THEN 'cyrillic' "
        f"WHEN regexp_matches({column}, '\\p{{Greek}}') THEN 'greek' "
        f"WHEN regexp_matches({column}, '[^\\p{{Latin}} -]') THEN 'other' ELSE 'latin' END"
    )


def latin_form_sql(column: str) -> str:
    """SQL: a folded name part in Latin letters only, spaces and hyphens dropped ("xiao-ming" →
    xiaoming); a part in another script through `romanize` (the UDF `load_records` registers).
    `column` is a constant column name."""
    return (
        f"CASE WHEN regexp_matches({column}, '[^a-z -]') THEN {ROMANIZE_UDF}({column}) "
        f"ELSE nullif(regexp_replace({column}, '[^a-z]+', '', 'g'), '') END"
    )


def romanize(text: str) -> str | None:
    """A name in any script in Latin letters, lower case, letters only: anyascii's
    transliteration (hanzi → pinyin without tones, hangul → Revised Romanization, kana → Hepburn,
    Cyrillic, Greek). Lossy by design: 张伟 and 章伟 are both "zhangwei", and kanji get their
    Chinese reading (佐藤 → "zuoteng", not Sato), so a Japanese name in kanji rarely meets its
    Latin form."""
    folded = re.sub("[^a-z]+", "", anyascii(unicodedata.normalize("NFC", text)).lower())
    return folded or None


# Table names are module constants; no value from the data is interpolated.
FEATURES_SQL = f"""
CREATE OR REPLACE TABLE {FEATURES_TABLE} AS
WITH base AS (
    SELECT
        record_key, source, object,
        nullif(trim(given_name_norm), '') AS given_name_norm,
        -- "smith jr" → "smith" + suffix jr (a lone "Senior" stays a family name)
        nullif(trim(regexp_replace(family_name_norm, '^(.+) {GENERATION_PATTERN}$', '\\1')), '')
            AS family_name_norm,
        {generation_sql("family_name_norm")} AS name_suffix,
        -- a role mailbox (info@, sales@) names a function, not a person: no evidence
        CASE WHEN coalesce(is_role_mailbox, false) THEN NULL ELSE nullif(email_norm, '') END
            AS email_match,
        -- the company's own mail domain (free-mail domains say nothing about a workplace)
        CASE WHEN NOT coalesce(is_role_mailbox, false) AND NOT coalesce(is_free_mail, false)
             THEN nullif(split_part(email_norm, '@', 2), '') END AS email_work_domain,
        nullif(phone_e164, '') AS phone_match,
        nullif(mobile_e164, '') AS mobile_match,
        nullif(company_norm, '') AS company_norm,
        nullif(upper(country_code), '') AS country_code,
        nullif(trim(lower(strip_accents(city))), '') AS city_norm,
        nullif(upper(regexp_replace(postal_code, '[^0-9A-Za-z]', '', 'g')), '') AS postal_norm,
        nullif(trim(regexp_replace(lower(strip_accents(street)), '[^a-z0-9]+', ' ', 'g')), '')
            AS street_norm,
        birthdate,
        -- m / f from the salutation (dbt seed salutation_sex); null when it names no sex
        CASE WHEN salutation_sex IN ('m', 'f') THEN salutation_sex END AS salutation_sex,
        coalesce(is_free_mail, false) AS is_free_mail,
        {name_script_sql("coalesce(given_name_norm, '') || coalesce(family_name_norm, '')")}
            AS name_script
    FROM {RECORDS_TABLE}
),
named AS (
    SELECT base.*,
        -- the name in Latin letters ("张伟" → wei / zhang, "Иван" → ivan): what a name in one
        -- script is compared with in another
        {latin_form_sql("given_name_norm")} AS given_name_latin,
        {latin_form_sql("family_name_norm")} AS family_name_latin
    FROM base
),
nick AS (
    -- nickname groups of the whole given name and of its first part ("mary ann" → mary)
    SELECT record_key, list_distinct(list(grp)) AS groups FROM (
        SELECT b.record_key, n.grp FROM base AS b JOIN nicknames AS n ON n.name = b.given_name_norm
        UNION ALL
        SELECT b.record_key, n.grp FROM base AS b
        JOIN nicknames AS n ON n.name = regexp_extract(b.given_name_norm, '^[^ -]+')
    ) GROUP BY record_key
)
SELECT
    named.*,
    -- order-free key of the Latin forms: "张伟", "Wei Zhang", "Zhang Wei" share "wei zhang"
    CASE WHEN given_name_latin IS NOT NULL AND family_name_latin IS NOT NULL
         THEN array_to_string(list_sort([given_name_latin, family_name_latin]), ' ') END
        AS name_latin_key,
    CASE WHEN street_norm IS NOT NULL AND postal_norm IS NOT NULL
         THEN street_norm || ' | ' || postal_norm END AS address_key,
    given_name_norm || ' ' || family_name_norm AS full_name,
    -- the full name typed into one field: "Josep Rovira" in LastName beside an empty or
    -- placeholder FirstName, or "Lidia" + "Lidia Huczek" (compared with the other record's
    -- full name only: two records of "García López" alone may be two relatives)
    CASE WHEN starts_with(family_name_norm, given_name_norm || ' ') THEN family_name_norm
         WHEN coalesce(given_name_norm IN (SELECT value FROM name_placeholders), true)
              AND contains(family_name_norm, ' ') THEN family_name_norm
         WHEN coalesce(family_name_norm IN (SELECT value FROM name_placeholders), true)
              AND contains(given_name_norm, ' ') THEN given_name_norm END AS full_name_one_field,
    regexp_extract(family_name_norm, '^[^ -]+') AS family_first,
    -- order-free name key: "wei zhang" and "zhang wei" block together
    array_to_string(list_sort(string_split_regex(
        coalesce(given_name_norm, '') || ' ' || coalesce(family_name_norm, ''), '[ -]+')
        .list_filter(lambda t: t <> '')), ' ') AS name_tokens_key,
    string_split_regex(trim(coalesce(given_name_norm, '') || ' ' || coalesce(family_name_norm, '')),
                       '[ -]+').list_filter(lambda t: t <> '') AS name_tokens,
    substr(given_name_norm, 1, 1) AS given_initial,
    substr(family_name_norm, 1, 1) AS family_initial,
    -- a personal handle reused at another free-mail provider ("kevin.watson10"); a work
    -- address's local part is built from the name, so it would count the name twice
    CASE WHEN is_free_mail AND length(split_part(email_match, '@', 1)) >= 4
         THEN split_part(email_match, '@', 1) END AS email_local_match,
    nick.groups AS given_nick_groups,
    -- a company mailbox named after its holder (j.smith@, jan@; the first four letters of a
    -- name part, so a typo in either still counts): two such mailboxes at one domain are two
    -- people; an unlisted shared one (administracion@) tells nothing
    email_work_domain IS NOT NULL AND (
        contains(split_part(email_match, '@', 1),
                 nullif(left(regexp_extract(given_name_norm, '^[^ -]{{2,}}'), 4), ''))
        OR contains(split_part(email_match, '@', 1),
                    nullif(left(regexp_extract(family_name_norm, '^[^ -]{{2,}}'), 4), ''))
        -- a name in another script: its Latin form (wei.zhang@ is 张伟's mailbox)
        OR (name_script <> 'latin' AND (
            contains(split_part(email_match, '@', 1), nullif(left(given_name_latin, 4), ''))
            OR contains(split_part(email_match, '@', 1), nullif(left(family_name_latin, 4), ''))))
    ) IS TRUE AS email_names_holder,
    -- a placeholder name part ("Unknown", "n/a", "x") is no name: the name comparison reads
    -- these where it asks whether a part is missing (the parts as typed still count where they
    -- agree: "Na" is a given name too)
    CASE WHEN trim(given_name_norm, ' -') <> ''
              AND given_name_norm NOT IN (SELECT value FROM name_placeholders)
         THEN given_name_norm END AS given_name_known,
    CASE WHEN trim(family_name_norm, ' -') <> ''
              AND family_name_norm NOT IN (SELECT value FROM name_placeholders)
         THEN family_name_norm END AS family_name_known
FROM named LEFT JOIN nick USING (record_key)
"""  # noqa: S608


def prepare_source(*, refresh: bool = True) -> int | None:
    """(Re)create SOURCE_TABLE (a view) and what it reads of our writes, in the warehouse
    briefly opened for writing; `refresh=False` only when it does not exist yet (the map step
    reads what the links step of its run found). Returns how many records hold a write of ours
    (read as before it), None when not refreshed."""
    with warehouse.connect() as con:
        if refresh or not own_writes.evidence_exists(con):
            return own_writes.refresh_evidence(con)
    return None


def read_records(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...] = RECORD_COLUMNS,
                 where: str = "") -> pa.Table:
    """Columns of int_person_records (the contract ones by default), as Arrow for copying into
    memory; `where` is a constant SQL condition (no data in it)."""
    return con.sql(
        f"SELECT {', '.join(columns)} FROM {SOURCE_TABLE} {where} ORDER BY record_key"  # noqa: S608 - constants
    ).to_arrow_table()


def load_name_placeholders(path: Path = PLACEHOLDER_SEED) -> list[str]:
    """Placeholder name values of value hygiene's seed, lower case and without accents, in the
    forms a name folding may leave of them: punctuation dropped or spaced ("[not provided]" →
    "not provided", "notprovided"; "n/a" → "na", "n a"). A part without letters ("-", ".") is no
    name either (the features test that without this list)."""
    with path.open(encoding="utf-8", newline="") as handle:
        values = [row["value"] for row in csv.DictReader(handle) if row["kind"] in NAME_PLACEHOLDER_KINDS]
    with duckdb.connect(":memory:") as con:
        folded = con.execute(
            r"""WITH folded AS (SELECT strip_accents(lower(v)) AS v FROM unnest(?::VARCHAR[]) AS t(v))
                SELECT DISTINCT
                    trim(regexp_replace(regexp_replace(v, pattern, replacement, 'g'), '\s+', ' ', 'g'))
                FROM folded, (VALUES ('[^\p{L} -]+', ''), ('[^\p{L}]+', ''), ('[^\p{L}]+', ' '))
                     AS forms(pattern, replacement) ORDER BY 1""",
            [values],
        ).fetchall()
    return [value for (value,) in folded if value]


def load_records(memory: duckdb.DuckDBPyConnection, records: pa.Table,
                 nicknames: list[tuple[str, int]] | None = None,
                 placeholders: list[str] | None = None) -> None:
    """Copy records into the in-memory database and derive the matching features."""
    memory.register("records_arrow", records)
    memory.execute(f"CREATE OR REPLACE TABLE {RECORDS_TABLE} AS SELECT * FROM records_arrow")  # noqa: S608
    memory.unregister("records_arrow")
    memory.execute("CREATE OR REPLACE TABLE nicknames (name VARCHAR, grp INTEGER)")
    nicknames = load_nicknames() if nicknames is None else nicknames
    memory.executemany("INSERT INTO nicknames VALUES (?, ?)", nicknames)
    placeholders = load_name_placeholders() if placeholders is None else placeholders
    memory.execute("CREATE OR REPLACE TABLE name_placeholders AS SELECT unnest(?::VARCHAR[]) AS value",
                   [placeholders])
    if not memory.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [ROMANIZE_UDF]
    ).fetchall()[0][0]:
        memory.create_function(ROMANIZE_UDF, romanize, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"))
    memory.execute(FEATURES_SQL)


def features_fingerprint(nicknames: list[tuple[str, int]], placeholders: list[str] | None = None) -> str:
    """Names the function inputs → features: its SQL, its inputs, the nickname groups, the
    name placeholders and the transliteration tables' version."""
    placeholders = load_name_placeholders() if placeholders is None else placeholders
    text = json.dumps([FEATURES_SQL, FEATURE_INPUTS, INPUTS_HASH_SQL, nicknames, placeholders,
                       version("anyascii")])  # its tables decide the Latin forms
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def in_memory() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB for one matching run (Splink's scratch tables die with it)."""
    con = duckdb.connect(":memory:", config=duckdb_config())
    con.execute("SET preserve_insertion_order = false")
    return con
