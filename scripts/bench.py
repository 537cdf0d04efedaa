"""Benchmark the pipeline end to end at several sizes, then an incremental run (issue 7, items 1-2).

    .venv/bin/python scripts/bench.py [--records 10000 100000 1000000 | --persons N ...]
                                      [--seed 1] [--home DIR] [--incremental-share 0.01]

For each size, in a fresh $AEGLOBAL_HOME (DIR/<size>, default /tmp/aeglobal-bench/<size>):

1. time `aeglobal sandbox generate --no-load` and `aeglobal sandbox load`, then ONE `aeglobal run`
   (the whole pipeline, write-back a dry run), as the schedule runs it. Its process tree's RSS is
   polled every 0.2 s (the sandbox server, started in the background, is not counted), and the
   run's own Dagster event log gives each step's start and end: a stage's time is the sum of its
   steps, its peak memory the largest RSS sampled while they ran. Stages: extract, staging
   (seeds, staging, person records), identity, survivorship/plan (governance + marts),
   write-back (dry run); `startup` is the time before the first step (imports, dbt parse).
   Then `aeglobal evaluate --json` (not timed): identity scores and the write-back plan's
   person-field changes scored against the generator's true attributes.
2. the incremental run: change a share of the person records (Lead, Contact, Prospect) by
   loading a modified copy of the snapshot (aeglobal_pipeline/sandbox/change.py), run
   `aeglobal run` again, and compare identity.global_person_map before/after for the records
   the change did not touch. Then time `aeglobal compact` over every table the run left deleted
   rows in: the weekly compaction job's cost, which runs never pay (warehouse/compact.py).

Prints a table per size and writes JSON to $AEGLOBAL_HOME/bench/bench-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from aeglobal_pipeline.sandbox.change import PERSON_OBJECTS, make_change

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AEGLOBAL = str(BIN / "aeglobal")
POLL_SECONDS = 0.2
MIB = 1024 * 1024
MARKER = ".aeglobal-bench"
SANDBOX_SERVER = "aeglobal_pipeline.sandbox.server"

# The stages, in order, and the asset groups that make them. dbt puts the governance models that
# read identity.global_person_map or the rules into person_records too; asset_stages() moves
# every asset that depends on a later stage into survivorship/plan.
STAGES = ["extract", "staging", "identity", "survivorship/plan", "writeback (dry run)", "steward report"]
STAGE_GROUPS = {
    "extract": 0, "reference_data": 1, "staging": 1, "person_records": 1, "identity": 2,
    "governance": 3, "marts": 3, "writeback": 4, "steward": 5,
}
SURVIVORSHIP = 3
# Steps every run takes before extracting, whatever their group: the configuration check, and the
# settling of a killed write-back's intents (it re-reads the orgs before survivorship). They open
# the run; nothing they precede is pushed into a later stage by them.
PRELUDE = {"configuration_check", "writeback/echo_stamps"}
# Source records (all objects, Accounts included) per generated person, measured at 20k-460k.
RECORDS_PER_PERSON = 2.16


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# -- measuring a subprocess -------------------------------------------------------------------


def _tree_rss(root: psutil.Process) -> int:
    """RSS of `root` and its descendants, leaving out the sandbox server."""
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in processes:
        try:
            if process.pid != root.pid and SANDBOX_SERVER in " ".join(process.cmdline()):
                continue
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def measure(command: list[str], env: dict[str, str], log_path: Path) -> dict:
    """Run `command`, returning wall seconds, polled peak tree RSS, kernel max RSS, exit code."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        handle = psutil.Process(child.pid)
        samples: list[tuple[float, int]] = []  # (epoch seconds, tree RSS)
        while True:
            # wait4 reaps the child ourselves so that we get its rusage (ru_maxrss, KiB on Linux).
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                break
            samples.append((time.time(), _tree_rss(handle)))
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
    peak = max((rss for _, rss in samples), default=0)
    child.returncode = os.waitstatus_to_exitcode(status)
    maxrss = usage.ru_maxrss * 1024
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(max(peak, maxrss) / MIB, 1),
        "polled_tree_rss_mib": round(peak / MIB, 1),
        "kernel_maxrss_mib": round(maxrss / MIB, 1),
        "exit_code": child.returncode,
        "log": str(log_path),
        "samples": samples,
    }


class StepFailed(RuntimeError):
    pass


def step(name: str, command: list[str], env: dict[str, str], log_dir: Path, records: int | None) -> dict:
    shown = " ".join(command[1:])
    log(f"  {name}: {shown if len(shown) < 160 else shown[:157] + '...'}")
    slug = name.replace("/", "-").replace(" ", "_").replace("(", "").replace(")", "")
    result = measure(command, env, log_dir / f"{slug}.log")
    samples = result.pop("samples")
    result["stage"] = name
    if records:
        result["records_per_second"] = round(records / result["seconds"], 1) if result["seconds"] else None
    log(f"  {name}: {result['seconds']:.1f}s, peak {result['peak_rss_mib']:.0f} MiB, "
        f"exit {result['exit_code']}")
    if result["exit_code"] != 0:
        tail = Path(result["log"]).read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        print("\n".join("    | " + line for line in tail), flush=True)
        raise StepFailed(f"{name} failed (exit {result['exit_code']}); see {result['log']}")
    result["samples"] = samples
    return result


def asset_stages() -> dict[str, int]:
    """Asset key (user string) → stage number, from the project's asset graph.

    Needs $AEGLOBAL_HOME/sources.yaml, i.e. a loaded sandbox."""
    import graphlib

    from aeglobal_pipeline.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    order = graphlib.TopologicalSorter({k: set(graph.get(k).parent_keys) for k in keys}).static_order()
    stage: dict = {}
    for key in order:
        if key not in keys:
            continue
        node = graph.get(key)
        if key.to_user_string() in PRELUDE:
            stage[key] = 0
            continue
        if node.group_name not in STAGE_GROUPS:
            raise SystemExit(f"asset {key.to_user_string()} is in group {node.group_name!r}, "
                             "which scripts/bench.py does not place in a stage")
        base = STAGE_GROUPS[node.group_name]
        needed = max([base, *(stage[p] for p in node.parent_keys if p in stage)])
        stage[key] = max(needed, SURVIVORSHIP) if needed > base else base
    return {key.to_user_string(): number for key, number in stage.items()}


def step_windows(home: Path, run_id: str | None = None) -> tuple[str, list[dict]]:
    """(run id, steps) of the latest (or given) run in the home's Dagster instance: each step's
    key, start and end (epoch seconds) and the assets it materialised."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    with dg.DagsterInstance.get() as instance:
        if run_id is None:
            run_id = instance.get_runs(limit=1)[0].run_id
        steps: dict[str, dict] = {}
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or not entry.step_key:
                continue
            step_info = steps.setdefault(entry.step_key, {"step": entry.step_key, "assets": []})
            kind = event.event_type_value
            if kind == "STEP_START":
                step_info["start"] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                step_info["end"] = entry.timestamp
            elif kind == "ASSET_MATERIALIZATION":
                step_info["assets"].append(event.asset_key.to_user_string())
    return run_id, [s for s in steps.values() if "start" in s and "end" in s]


def run_pipeline(phase: str, env: dict[str, str], home: Path, log_dir: Path, records: int,
                 stages_of: dict[str, int]) -> dict:
    """One `aeglobal run` (dry run), broken down into stages by its Dagster step events."""
    whole = step(f"{phase} pipeline", [AEGLOBAL, "run"], env, log_dir, records)
    samples = whole.pop("samples")
    run_id, steps = step_windows(home)
    per_stage: dict[int, dict] = {}
    for info in steps:
        numbers = [stages_of[a] for a in info["assets"] if a in stages_of]
        number = max(numbers) if numbers else len(STAGES) - 1
        entry = per_stage.setdefault(number, {"seconds": 0.0, "peak": 0, "steps": 0})
        entry["seconds"] += info["end"] - info["start"]
        entry["steps"] += 1
        window = [rss for t, rss in samples if info["start"] <= t <= info["end"]]
        entry["peak"] = max([entry["peak"], *window])
    first_start = min((i["start"] for i in steps), default=None)
    rows = []
    if first_start is not None and samples:
        startup = [rss for t, rss in samples if t < first_start]
        rows.append({"stage": "startup", "seconds": round(first_start - samples[0][0], 3),
                     "peak_rss_mib": round(max(startup, default=0) / MIB, 1)})
    for number, name in enumerate(STAGES):
        if number in per_stage:
            entry = per_stage[number]
            rows.append({
                "stage": name, "seconds": round(entry["seconds"], 3), "steps": entry["steps"],
                "peak_rss_mib": round(entry["peak"] / MIB, 1),
                "records_per_second": round(records / entry["seconds"], 1) if entry["seconds"] else None,
            })
    return {"run_id": run_id, "total": whole, "stages": rows}


# -- the snapshot and the incremental change ---------------------------------------------------


def count_rows(snapshot: Path) -> dict[str, int]:
    """Rows per object over all sources of a snapshot directory."""
    counts: dict[str, int] = {}
    for path in sorted(snapshot.glob("*/*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        counts[path.stem] = counts.get(path.stem, 0) + max(rows, 0)
    return counts


def person_map(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """record key -> global person id, and record key -> clustering component (the records linked
    by accepted or must-link edges, before the size cap and cannot-links cut them into persons)."""
    from aeglobal_pipeline import warehouse

    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        ids = con.execute("SELECT record_key, global_person_id FROM identity.global_person_map")
        ids = dict(ids.fetchall())
        components = con.execute("SELECT record_key, component FROM identity.map_components")
        components = dict(components.fetchall())
    return ids, components


def compare_maps(before: tuple[dict[str, str], dict[str, str]], after: tuple[dict[str, str], dict[str, str]],
                 touched: set[str]) -> dict:
    """How many untouched records changed global id, and how many of those are explained: their
    clustering component before or after holds a touched record (an edit that merged or split two
    people, or moved where the size cap cuts a large component)."""
    (ids_before, components_before), (ids_after, components_after) = before, after
    common = ids_before.keys() & ids_after.keys()
    untouched = [k for k in common if k not in touched]
    changed_untouched = [k for k in untouched if ids_before[k] != ids_after[k]]
    touched_components_before = {components_before[k] for k in touched if k in components_before}
    touched_components_after = {components_after[k] for k in touched if k in components_after}
    unexplained = [k for k in changed_untouched
                   if components_before.get(k) not in touched_components_before
                   and components_after.get(k) not in touched_components_after]
    touched_common = [k for k in common if k in touched]
    return {
        "records_before": len(ids_before),
        "records_after": len(ids_after),
        "untouched_records_compared": len(untouched),
        "untouched_global_ids_changed": len(changed_untouched),
        "untouched_changed_outside_touched_components": len(unexplained),
        "untouched_changed_examples": sorted(unexplained or changed_untouched)[:10],
        "untouched_missing_after": len([k for k in ids_before if k not in touched and k not in ids_after]),
        "touched_records_compared": len(touched_common),
        "touched_global_ids_changed": sum(ids_before[k] != ids_after[k] for k in touched_common),
        "distinct_global_ids_before": len(set(ids_before.values())),
        "distinct_global_ids_after": len(set(ids_after.values())),
    }


def evaluate_full_run(env: dict[str, str], snapshot: Path) -> dict:
    """`aeglobal evaluate --json` after the full run: identity scores and the write-back plan's
    changes scored against the generator's true attributes (not timed)."""
    truth = snapshot.parent / f"{snapshot.name}.truth.csv"
    log(f"  evaluate: aeglobal evaluate --truth {truth} --json")
    done = subprocess.run([AEGLOBAL, "evaluate", "--truth", str(truth), "--json"], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    return json.loads(done.stdout)


# -- one size ----------------------------------------------------------------------------------


def fresh_home(home: Path, env: dict[str, str]) -> None:
    if home.exists():
        if any(home.iterdir()) and not (home / MARKER).exists():
            sys.exit(f"{home} exists and was not made by this script; pick another --home")
        subprocess.run([AEGLOBAL, "sandbox", "stop"], env=env, capture_output=True, check=False)
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("made by scripts/bench.py; deleted on the next run\n", encoding="utf-8")


def bench_size(persons: int, args: argparse.Namespace) -> dict:
    home = (args.home / str(persons)).resolve()
    env = {**os.environ, "AEGLOBAL_HOME": str(home),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for variable in ("AEGLOBAL_SOURCES", "AEGLOBAL_WAREHOUSE", "DAGSTER_HOME"):
        env.pop(variable, None)
    os.environ["AEGLOBAL_HOME"] = str(home)  # for reading the warehouse in this process
    fresh_home(home, env)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = home / "bench" / f"logs-{stamp}"
    snapshot = home / "snapshot" / "base"
    result: dict = {"persons": persons, "seed": args.seed, "home": str(home), "started_at": stamp,
                    "incremental_share": args.incremental_share}
    log(f"== {persons:,} persons in {home}")
    try:
        generate = step("generate", [AEGLOBAL, "sandbox", "generate", "--persons", str(persons),
                                     "--seed", str(args.seed), "--out", str(snapshot), "--no-load"],
                        env, logs / "full", None)
        counts = count_rows(snapshot)
        source_records = sum(counts.values())
        person_records = sum(n for obj, n in counts.items() if obj in PERSON_OBJECTS)
        result.update(objects=counts, source_records=source_records, person_records=person_records)
        log(f"  {source_records:,} source records ({person_records:,} person records): {counts}")
        generate["records_per_second"] = round(source_records / generate["seconds"], 1)
        load = step("load", [AEGLOBAL, "sandbox", "load", str(snapshot)], env, logs / "full", source_records)
        for prepared in (generate, load):
            prepared.pop("samples")
        result["setup"] = [generate, load]
        stages_of = asset_stages()
        result["full"] = run_pipeline("full", env, home, logs / "full", source_records, stages_of)
        result["evaluation"] = evaluate_full_run(env, snapshot)

        log(f"== incremental: changing {args.incremental_share:.1%} of the person records")
        before = person_map(home)
        changed_dir = home / "snapshot" / "changed"
        change = make_change(snapshot, changed_dir, args.incremental_share, args.seed + 1)
        result["change"] = {**change["counts"], "touched_records": len(change["touched"]),
                            "method": "modified snapshot loaded with `aeglobal sandbox load`"}
        log(f"  change: {change['counts']}")
        load_changes = step("load changes", [AEGLOBAL, "sandbox", "load", str(changed_dir)], env,
                            logs / "incremental", None)
        load_changes.pop("samples")
        result["incremental_load"] = load_changes
        result["incremental"] = run_pipeline("incremental", env, home, logs / "incremental",
                                             len(change["touched"]), stages_of)
        result["incremental_fraction_of_full"] = round(
            result["incremental"]["total"]["seconds"] / result["full"]["total"]["seconds"], 3)
        result["identity_stability"] = compare_maps(before, person_map(home), change["touched"])
        # What the weekly compaction job (not a run) then costs: every table with deleted rows.
        compaction = step("compact", [AEGLOBAL, "compact", "--min-dead-share", "0"], env,
                          logs / "incremental", None)
        compaction.pop("samples")
        result["compaction"] = compaction
        result["ok"] = True
    except StepFailed as error:
        log(f"  FAILED: {error}")
        result["ok"] = False
        result["error"] = str(error)
    finally:
        subprocess.run([AEGLOBAL, "sandbox", "stop"], env=env, capture_output=True, check=False)
        log("  sandbox stopped")
    out = home / "bench" / f"bench-{stamp}.json"
    result["machine"] = machine()
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    result["json"] = str(out)
    return result


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
    }


# -- output ------------------------------------------------------------------------------------


def print_table(result: dict) -> None:
    print()
    print(f"aeglobal bench: {result.get('source_records', 0):,} source records "
          f"({result.get('person_records', 0):,} person records, {result['persons']:,} persons), "
          f"seed {result['seed']}")
    header = (f"{'stage':<20} {'full s':>9} {'peak MiB':>9} {'src rec/s':>11}   "
              f"{'incr s':>8} {'peak MiB':>9} {'incr/full':>9}")
    print(header)
    print("-" * len(header))
    for prepared in result.get("setup", []):
        print(f"{prepared['stage']:<20} {prepared['seconds']:>9.1f} {prepared['peak_rss_mib']:>9.0f} "
              f"{prepared.get('records_per_second') or 0:>11,.0f}")
    full, incremental = result.get("full"), result.get("incremental")
    if full:
        other = {s["stage"]: s for s in (incremental or {}).get("stages", [])}
        for stage in full["stages"]:
            rate = stage.get("records_per_second")
            line = (f"{stage['stage']:<20} {stage['seconds']:>9.1f} {stage['peak_rss_mib']:>9.0f} "
                    + (f"{rate:>11,.0f}" if rate else f"{'':>11}"))
            if stage["stage"] in other:
                mine = other[stage["stage"]]
                share = mine["seconds"] / stage["seconds"] if stage["seconds"] else 0
                line += f"   {mine['seconds']:>8.1f} {mine['peak_rss_mib']:>9.0f} {share:>9.0%}"
            print(line)
        total = full["total"]
        rate = result["source_records"] / total["seconds"] if total["seconds"] else 0
        line = (f"{'pipeline (one run)':<20} {total['seconds']:>9.1f} {total['peak_rss_mib']:>9.0f} "
                f"{rate:>11,.0f}")
        if incremental:
            mine = incremental["total"]
            line += (f"   {mine['seconds']:>8.1f} {mine['peak_rss_mib']:>9.0f} "
                     f"{result['incremental_fraction_of_full']:>9.0%}")
        print("-" * len(header))
        print(line)
    print_evaluation(result.get("evaluation"))
    if "identity_stability" in result:
        change, stability = result["change"], result["identity_stability"]
        print(f"incremental change: {change['edit']} edits, {change['delete']} deletes, "
              f"{change['new']} new records (loading the changed snapshot took "
              f"{result['incremental_load']['seconds']:.1f}s, not counted)")
        print(f"incremental run: {result['incremental_fraction_of_full']:.0%} of the full run's time")
        if "compaction" in result:
            print(f"compacting the tables with deleted rows afterwards (`aeglobal compact`, the weekly "
                  f"job, not part of a run): {result['compaction']['seconds']:.1f}s")
        print(f"global ids changed for untouched records: {stability['untouched_global_ids_changed']} of "
              f"{stability['untouched_records_compared']:,}, of which "
              f"{stability['untouched_changed_outside_touched_components']} outside the clustering "
              f"components of touched records (touched records whose id changed: "
              f"{stability['touched_global_ids_changed']} of {stability['touched_records_compared']})")
    if not result.get("ok"):
        print(f"FAILED: {result.get('error')}")
    print(f"json: {result['json']}")


def print_evaluation(evaluation: dict | None) -> None:
    if not evaluation:
        return
    if "error" in evaluation:
        print(f"evaluate failed: {evaluation['error']}")
        return
    scores = evaluation["identity"]["scores"]
    print(f"identity (full run): pairwise precision {scores['pairwise_precision']:.4f} recall "
          f"{scores['pairwise_recall']:.4f} F1 {scores['pairwise_f1']:.4f}")
    writeback = evaluation.get("writeback")
    if not writeback:
        print(f"write-back: not scored ({evaluation.get('writeback_skipped')})")
        return
    print(f"write-back plan (full run): {writeback['person_field_changes']:,} person-field changes; "
          f"good fills + fixes {writeback['good_fills_plus_fixes']:,}")
    for category, count in writeback["counts"].items():
        print(f"  {category:<24} {count:>9,} {writeback['shares'][category]:>8.2%}")
    skipped = ", ".join(f"{k} {n:,}" for k, n in writeback["not_scored"].items())
    print(f"  not scored (not person-field values): {skipped or 'none'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                       help="source records per size (default ladder 10k 100k 1M)")
    sizes.add_argument("--persons", type=int, nargs="+", help="generated persons per size instead")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--home", type=Path, default=Path("/tmp/aeglobal-bench"),  # noqa: S108
                        help="each size runs in a fresh DIR/<persons> (default /tmp/aeglobal-bench)")
    parser.add_argument("--incremental-share", type=float, default=0.01)
    args = parser.parse_args()
    if not 0 < args.incremental_share < 1:
        parser.error("--incremental-share must be between 0 and 1")
    results = []
    ladder = args.persons or [round(records / RECORDS_PER_PERSON) for records in args.records]
    for persons in ladder:
        result = bench_size(persons, args)
        results.append(result)
        print_table(result)
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
