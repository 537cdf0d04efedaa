"""Term frequencies frozen with the model, so that a pair's score depends only on its two records.

Splink's term-frequency adjustment divides by how common a value is ("maria garcia" is weak
evidence, "xylia quastenberg" strong). Computed afresh on every run, a 1% change to the data
would move the frequency of thousands of values and so the score of pairs no edit touched: an
incremental run could not reproduce a full run. So the frequencies are part of the trained
model, like m and u: computed once from the data the model first scores (Splink's own
`compute_tf_table`), saved as Parquet beside model.json, and registered before every
prediction. A value the frozen table has never seen gets no adjustment (Splink's behaviour for
a missing frequency: the level's average u). Retraining refreshes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from splink import Linker

TF_DIR = "term_frequencies"


def tf_columns(model: dict[str, Any]) -> list[str]:
    """Every column some comparison level of a saved Splink model adjusts by frequency."""
    columns: list[str] = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and column not in columns:
                columns.append(column)
    return columns


def is_frozen(model_dir: Path, model: dict[str, Any]) -> bool:
    return all((model_dir / TF_DIR / f"{column}.parquet").is_file() for column in tf_columns(model))


def freeze(linker: Linker, memory: duckdb.DuckDBPyConnection, model_dir: Path, model: dict[str, Any]) -> None:
    """Compute and save the frequency table of every TF column from the linker's input data."""
    target = model_dir / TF_DIR
    target.mkdir(parents=True, exist_ok=True)
    for column in tf_columns(model):
        frame = linker.table_management.compute_tf_table(column)
        # physical_name is Splink's own generated table name, not data.
        table = memory.sql(f"SELECT * FROM {frame.physical_name}").to_arrow_table()  # noqa: S608
        partial = target / f".{column}.parquet.tmp"
        pq.write_table(table, partial)
        partial.replace(target / f"{column}.parquet")


def register(linker: Linker, db_api, memory: duckdb.DuckDBPyConnection, model_dir: Path,
             model: dict[str, Any]) -> None:
    """Make the linker use the frozen tables instead of computing frequencies from its input."""
    for column in tf_columns(model):
        view = f"frozen_tf_{column}"  # column names are validated identifiers (matching.yaml)
        memory.register(view, pq.read_table(model_dir / TF_DIR / f"{column}.parquet"))
        linker.table_management.register_term_frequency_lookup(db_api.register(view), column)
