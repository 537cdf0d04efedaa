"""The `aeglobal` command."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from aeglobal_pipeline.config import ConfigError, aeglobal_home


def _fail(message: str) -> None:
    sys.stdout.flush()  # the error is the last thing printed
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """One global identity per person across Salesforce orgs and Account Engagement units."""


@main.group()
def sandbox() -> None:
    """The local Salesforce + Account Engagement sandbox (state under $AEGLOBAL_HOME/sandbox)."""


@sandbox.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--encoding", default="utf-8", show_default=True,
              help="Encoding of the CSV files (a UTF-8 byte-order mark is fine), e.g. cp1252.")
@click.option("--allow-empty", "allow_empty", multiple=True, metavar="OBJECT",
              help="Load a header-only file as an empty object: Lead, or crm_emea/Lead. Repeatable.")
def sandbox_load(directory: Path, encoding: str = "utf-8", allow_empty: tuple[str, ...] = (),
                 _generated: bool = False) -> None:
    """Replace the sandbox's orgs with a snapshot DIRECTORY (sources.yaml + <source>/<Object>.csv)."""
    from aeglobal_pipeline.sandbox.snapshot import SnapshotError, load_snapshot

    started = time.perf_counter()
    try:
        # The generator's own output may hold an object without rows (rule 9): load it as it is.
        summary = load_snapshot(directory, aeglobal_home(), encoding=encoding,
                                allow_empty=True if _generated else frozenset(allow_empty))
    except (SnapshotError, ConfigError) as error:
        _fail(str(error))
    click.echo(f"loaded {directory} into the sandbox in {time.perf_counter() - started:.1f}s")
    click.echo(str(summary))
    click.echo(f"sources file: {aeglobal_home() / 'sources.yaml'}")


@sandbox.command("generate")
@click.option("--persons", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Snapshot directory to write; ground truth is written beside it.")
@click.option("--load/--no-load", default=True, show_default=True,
              help="Load the generated snapshot into the sandbox.")
@click.option("--profile", type=click.Choice(["b2b", "b2c"]), default="b2b", show_default=True,
              help="b2b: leads, contacts and prospects of employees; b2c: consumers as Contacts "
                   "(names, postal address, birthdate).")
@click.option("--orgs", type=click.IntRange(1, 3), default=2, show_default=True,
              help="b2c only: how many Salesforce orgs (no Account Engagement).")
@click.option("--contact-points", type=click.Choice(["few", "none"]), default="few", show_default=True,
              help="b2c only: a few e-mails and mobiles, or none at all.")
@click.option("--formats", type=click.Choice(["generated", "all"]), default="generated", show_default=True,
              help="all: re-type every phone and e-mail in turn in each format real orgs hold "
                   "(national, international, 00, (0), vanity letters, ext./x/;ext=, mixed case, "
                   "padding); the numbers and addresses stay the same.")
def sandbox_generate(persons: int, seed: int, out: Path, load: bool, profile: str, orgs: int,
                     contact_points: str, formats: str) -> None:
    """Write a realistic multi-org snapshot with its ground truth, deterministic per seed."""
    from aeglobal_pipeline.sandbox.b2c import generate_b2c_snapshot
    from aeglobal_pipeline.sandbox.generate import generate_snapshot

    started = time.perf_counter()
    if profile == "b2c":
        summary = generate_b2c_snapshot(persons, seed, out, orgs=orgs, contact_points=contact_points)
    else:
        summary = generate_snapshot(persons=persons, seed=seed, out=out)
    click.echo(f"generated {persons:,} persons into {out} in {time.perf_counter() - started:.1f}s")
    click.echo(str(summary))
    if formats == "all":
        from aeglobal_pipeline.sandbox.all_formats import rewrite_all_formats

        used = rewrite_all_formats(out)
        click.echo("re-typed in every format: " + ", ".join(f"{k} {v:,}" for k, v in sorted(used.items())))
    if load:
        sandbox_load.callback(out, _generated=True)  # type: ignore[misc]


@sandbox.command("serve")
@click.option("--port", type=int, default=0, help="0 picks a free port.")
def sandbox_serve(port: int) -> None:
    """Serve the sandbox in the foreground on 127.0.0.1 until interrupted."""
    from aeglobal_pipeline.sandbox.process import serve

    serve(aeglobal_home(), port)


@sandbox.command("stop")
def sandbox_stop() -> None:
    """Stop a sandbox server started in the background."""
    from aeglobal_pipeline.sandbox.process import stop

    stop(aeglobal_home())
    click.echo("sandbox stopped")


@main.command("run")
@click.option("--apply", is_flag=True, help="Write resolved changes back (default: dry run).")
@click.option("--full-refresh", is_flag=True, help="Re-extract everything, ignoring high-water marks.")
@click.option("--select", "selection", default=None,
              help='Dagster asset selection, e.g. "group:identity" (default: everything).')
def run(apply: bool, full_refresh: bool, selection: str | None) -> None:
    """Materialize the whole pipeline and print what it did."""
    from aeglobal_pipeline.runner import MART_TABLES, mart_figures, run_pipeline

    started = time.perf_counter()
    try:
        summary = run_pipeline(apply=apply, full_refresh=full_refresh, selection=selection)
    except ConfigError as error:  # a bad rules or sources file: nothing ran
        _fail(f"nothing was extracted or written; fix these first:\n{error}")
    elapsed = time.perf_counter() - started
    quiet = []
    for asset, metadata in sorted(summary.materialized.items()):
        rows = metadata.get("dagster/row_count")
        if rows is None:
            quiet.append(asset)
            continue
        counts = ", ".join(
            f"{key} {metadata[key]}" for key in ("new", "updated", "deleted", "stopped") if key in metadata
        )
        click.echo(f"  {asset:<44} rows {rows!s:>9}  {counts}")
    if quiet:
        click.echo(f"  + {len(quiet)} more assets built (dbt staging, reference data, ...)")
    figures = mart_figures()
    for table in MART_TABLES:
        if table in figures:
            click.echo(f"  marts.{table:<38} rows {figures[table]!s:>9}")
    for label, key in (("write-back plan by field", "plan_by_field"),
                       ("identity conflicts by type", "conflicts_by_type")):
        if figures.get(key):
            breakdown = ", ".join(f"{name} {count}" for name, count in figures[key].items())
            click.echo(f"  {label}: {breakdown}")
    writeback = summary.materialized.get("writeback")
    if writeback:
        totals = ", ".join(f"{status} {n}" for status, n in (writeback.get("totals") or {}).items())
        click.echo(
            f"  write-back ({writeback.get('mode')}): {writeback.get('dagster/row_count', 0)} planned "
            f"field changes; {totals or 'nothing written'}"
        )
        calls = writeback.get("api_calls") or {}
        if calls:
            click.echo(f"  write-back API calls: {calls}")
    failed_checks = sorted(check for check, passed in summary.checks.items() if not passed)
    click.echo(
        f"  checks: {len(summary.checks) - len(failed_checks)} passed, {len(failed_checks)} failed"
    )
    for check in failed_checks:
        click.secho(f"  check FAILED: {check}", fg="red")
    for step, message in sorted(summary.failures.items()):
        click.secho(f"  FAILED {step}: {message}", fg="red", err=True)
    click.echo(f"run {summary.run_id} {'succeeded' if summary.success else 'failed'} in {elapsed:.1f}s")
    click.echo(f"warehouse: {aeglobal_home() / 'warehouse.duckdb'}")
    report = summary.materialized.get("steward_report") or {}
    if report.get("report"):
        click.echo(f"steward report: {report['report']} (CSV files beside it)")
    if not summary.success:
        sys.exit(1)


@main.command("check")
@click.option("--sources", "sources_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="sources.yaml to check (default: $AEGLOBAL_SOURCES, else $AEGLOBAL_HOME/sources.yaml).")
@click.option("--rules", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Rules directory (default: $AEGLOBAL_RULES, else the project's identity_rules/).")
def check(sources_file: Path | None, rules: Path | None) -> None:
    """Validate sources.yaml and every rules file, each alone and against each other (for CI)."""
    from aeglobal_pipeline.rules_check import check_configuration

    report = check_configuration(sources_file, rules)
    for note in report.notes:
        click.echo(note)
    if not report.ok:
        count = len(report.problems)
        _fail(f"{count} problem{'s' if count > 1 else ''} in {len(report.files)} files:\n"
              + "\n".join(str(problem) for problem in report.problems))
    click.echo(f"{len(report.files)} files OK: {', '.join(report.files)}")


@main.command("compact")
@click.option("--min-dead-share", type=click.FloatRange(0, 1), default=None,
              help="Rewrite a table once this share of its stored rows is deleted (default 0.1).")
def compact_command(min_dead_share: float | None) -> None:
    """Drop the rows incremental runs deleted from the warehouse (the weekly compaction job does too)."""
    from aeglobal_pipeline.config import warehouse_path
    from aeglobal_pipeline.warehouse import connect
    from aeglobal_pipeline.warehouse.compact import DEFAULT_MIN_DEAD_SHARE, compact

    if not warehouse_path().exists():
        _fail(f"{warehouse_path()}: no warehouse yet; run `aeglobal run` first")
    share = DEFAULT_MIN_DEAD_SHARE if min_dead_share is None else min_dead_share
    started = time.perf_counter()
    with connect() as con:
        compacted = compact(con, min_dead_share=share, progress=click.echo)
    dropped = sum(rows.dead for rows in compacted)
    tables = f"{len(compacted)} table" + ("" if len(compacted) == 1 else "s")
    click.echo(f"compacted {tables} ({dropped:,} deleted rows dropped) "
               f"in {time.perf_counter() - started:.1f}s")


@main.command("rollback")
@click.option("--run", "run_id", required=True, help="The write-back run (Dagster run id) to undo.")
def rollback(run_id: str) -> None:
    """Write back the old values of a run where the target still holds what that run wrote."""
    from aeglobal_pipeline.writeback import WritebackBusy, rollback_run

    try:
        result = rollback_run(run_id)
    except (LookupError, WritebackBusy) as error:
        _fail(str(error))
    click.echo(result.text())


@main.command("recover")
def recover() -> None:
    """After a killed run: release the pool slots of dead runs, settle left-over write intents."""
    import dagster as dg

    from aeglobal_pipeline.run_hygiene import release_dead_runs
    from aeglobal_pipeline.runner import dagster_home
    from aeglobal_pipeline.writeback import WritebackBusy
    from aeglobal_pipeline.writeback.run import reconcile_pending

    dagster_home()
    with dg.DagsterInstance.get() as instance:
        released = release_dead_runs(instance, log=click.echo)
    click.echo(f"released the pool slots of {len(released)} dead run(s)")
    try:
        reconciled = reconcile_pending(log=click.echo)
    except (WritebackBusy, ConfigError) as error:
        _fail(str(error))
    click.echo(f"settled {sum(reconciled.values())} left-over write intent(s) of "
               f"{len(reconciled)} interrupted run(s)")


@main.command("evaluate")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="CSV with source, object, record_id, person_id (e.g. DIR.truth.csv).")
@click.option("--hard-negatives", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of look-alike pairs (default: beside the truth file, if there).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object (for scripts).")
def evaluate(truth: Path, hard_negatives: Path | None, as_json: bool) -> None:
    """Score the current global_person_map, and the write-back plan when the truth attributes
    are beside the truth file (X.truth_attributes.csv), against a ground truth."""
    import json

    import duckdb

    from aeglobal_pipeline.evaluation.writeback import identity_dict, writeback_section
    from aeglobal_pipeline.identity.evaluate import default_hard_negatives
    from aeglobal_pipeline.identity.evaluate import evaluate as evaluate_identity

    try:
        report = evaluate_identity(truth, hard_negatives or default_hard_negatives(truth))
    except duckdb.CatalogException:
        _fail("no identity.global_person_map in the warehouse yet: run `aeglobal run` first")
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))
    writeback, note = writeback_section(truth)
    if as_json:
        figures = {"identity": identity_dict(report), "writeback": writeback.to_dict() if writeback else None}
        click.echo(json.dumps({**figures, "writeback_skipped": note}, indent=2, default=str))
        return
    click.echo(str(report))
    click.echo(str(writeback) if writeback else f"write-back: not scored ({note})")


@main.group()
def steward() -> None:
    """Data steward decisions (identity_rules/steward_decisions.yaml)."""


@steward.command("decide")
@click.argument("kind", type=click.Choice(["must-link", "cannot-link"]))
@click.argument("record_a")
@click.argument("record_b")
@click.option("--by", required=True, help="Who decides (name or e-mail).")
@click.option("--why", required=True, help="The reason, kept with the decision.")
def steward_decide(kind: str, record_a: str, record_b: str, by: str, why: str) -> None:
    """Record that two records are (must-link) or are not (cannot-link) the same person."""
    from pydantic import ValidationError

    from aeglobal_pipeline.identity.steward import record_decision

    try:
        decision = record_decision(kind, record_a, record_b, by=by, why=why)
    except ValidationError as error:
        _fail("; ".join(problem["msg"] for problem in error.errors()))
    except ConfigError as error:
        _fail(str(error))
    click.echo(f"recorded {decision.decision} {record_a} {record_b}; the next run applies it")


@main.command("ui")
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI on 127.0.0.1 with this project's workspace and instance."""
    import os
    import subprocess

    from aeglobal_pipeline.runner import dagster_home

    dagster_home()
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
    # dbt and dagster live beside this interpreter; the venv need not be on PATH.
    env = {**os.environ, "PATH": f"{dagster.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    sys.exit(subprocess.call(command, env=env))


if __name__ == "__main__":
    main()
