"""How often each name is written as a given name and as a family name in this estate, frozen with
the model: the evidence that settles the order of a swapped name.

"Hindess Luke" beside "Luke Hindess" reads one way when the estate's own records write Luke as a
given name hundreds of times and Hindess only as a family name; "Thomas James" beside "James
Thomas" does not (both are common in both roles). The person-name comparison reads four counts
per record (`ROLE_COLUMNS`: its given name as a given and as a family name, its family name as
each), joined from this table in the view Splink scores (`scoring_view`).

Like term frequencies, the counts are part of the trained model (computed from the data it is
trained on, saved beside model.json, read back before every prediction): counted afresh on every
run, a 1% change would move the counts of names no edit touched, and an incremental run could no
longer reproduce a full one. A name the frozen table has not seen counts as written once.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from aeglobal_pipeline.identity.comparison_base import ROLE_COLUMNS
from aeglobal_pipeline.identity.features import FEATURES_TABLE

ROLES_FILE = "name_roles.parquet"
ROLES_TABLE = "name_roles"
SCORING_VIEW = "person_features_scored"  # the feature table with ROLE_COLUMNS: Splink's input


def count_roles(memory: duckdb.DuckDBPyConnection) -> pa.Table:
    """name → records writing it as a given name (as_given) and as a family name (as_family);
    placeholders ("Unknown", "n/a") are no names."""
    return memory.sql(
        f"""SELECT name, sum(as_given)::BIGINT AS as_given, sum(as_family)::BIGINT AS as_family
            FROM (SELECT given_name_known AS name, 1 AS as_given, 0 AS as_family FROM {FEATURES_TABLE}
                  UNION ALL
                  SELECT family_name_known, 0, 1 FROM {FEATURES_TABLE})
            WHERE name IS NOT NULL GROUP BY name ORDER BY name"""  # noqa: S608 - constant table
    ).to_arrow_table()


def freeze(memory: duckdb.DuckDBPyConnection, model_dir: Path) -> int:
    """Save the counts of the data in the feature table beside the model; returns how many
    distinct names they cover."""
    roles = count_roles(memory)
    partial = model_dir / f".{ROLES_FILE}.tmp"
    pq.write_table(roles, partial)
    partial.replace(model_dir / ROLES_FILE)
    return roles.num_rows


def is_frozen(model_dir: Path) -> bool:
    return (model_dir / ROLES_FILE).is_file()


def scoring_view(memory: duckdb.DuckDBPyConnection, model_dir: Path | None = None) -> str:
    """(Re)create SCORING_VIEW over the feature table with ROLE_COLUMNS, from the counts frozen in
    `model_dir`, or (training: no model yet) from the feature table itself; returns its name."""
    roles = pq.read_table(model_dir / ROLES_FILE) if model_dir is not None else count_roles(memory)
    memory.register("name_roles_arrow", roles)
    memory.execute(f"CREATE OR REPLACE TABLE {ROLES_TABLE} AS SELECT * FROM name_roles_arrow")  # noqa: S608
    memory.unregister("name_roles_arrow")
    given_as_given, given_as_family, family_as_given, family_as_family = ROLE_COLUMNS
    memory.execute(
        f"""CREATE OR REPLACE VIEW {SCORING_VIEW} AS
            SELECT f.*,
                coalesce(g.as_given, 0) AS {given_as_given}, coalesce(g.as_family, 0) AS {given_as_family},
                coalesce(m.as_given, 0) AS {family_as_given}, coalesce(m.as_family, 0) AS {family_as_family}
            FROM {FEATURES_TABLE} AS f
            LEFT JOIN {ROLES_TABLE} AS g ON g.name = f.given_name_known
            LEFT JOIN {ROLES_TABLE} AS m ON m.name = f.family_name_known"""  # noqa: S608 - constants
    )
    return SCORING_VIEW
