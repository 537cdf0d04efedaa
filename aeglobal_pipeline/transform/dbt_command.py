"""`aeglobal-dbt`: the dbt command the pipeline runs. It is dbt itself, except for `--version`.

dagster-dbt asks `dbt --version` once per run to learn the dbt major version. dbt answers by
importing itself and asking PyPI for the newest release (one second's timeout when offline): about
2 s of every run, and a network call the pipeline must not make. The installed version is in the
package metadata, which is all dagster-dbt reads from the answer.
"""

import sys
from importlib.metadata import version


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"Core:\n  - installed: {version('dbt-core')}")
        return
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
