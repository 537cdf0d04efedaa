"""Benchmark the pipeline end to end at several sizes, then an incremental run (issue 7, items 1-2).

    .venv/bin/python scripts/bench.py [--persons 10000 100000] [--seed 1] [--home DIR]
                                      [--incremental-share 0.01]

For each size, in a fresh $AEGLOBAL_HOME (DIR/<size>, default /tmp/aeglobal-bench/<size>):

1. time `aeglobal sandbox generate --no-load`, `aeglobal sandbox load`, then `aeglobal run --select`
   per stage, in order: extract; staging (reference_data + staging + person_records); identity;
   survivorship/plan (governance + marts); write-back dry run. Every step is a subprocess; its
   peak memory is the largest sum of RSS over its process tree, polled every 0.2 s with psutil
   (the sandbox server, which the extract stage starts in the background, is not counted), and
   the kernel's max RSS of the largest single process in the tree (wait4) as a cross-check.
2. the incremental run: change a share of the person records (Lead, Contact, Prospect) by
   writing a modified copy of the snapshot and loading it into the sandbox (the sandbox has no
   create/delete API). Edited and deleted rows get SystemModstamp/LastModifiedDate (updatedAt
   for prospects) set to now, deleted rows IsDeleted/isDeleted=true, new rows are appended with
   fresh ids and now as their stamps; untouched rows keep their stamps, so the extraction's
   high-water mark picks up exactly the changed rows. Then every stage runs again, and
   identity.global_person_map is compared before/after for the records the change did not touch.

Prints a table per size and writes JSON to $AEGLOBAL_HOME/bench/bench-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AEGLOBAL = str(BIN / "aeglobal")
POLL_SECONDS = 0.2
MIB = 1024 * 1024
MARKER = ".aeglobal-bench"
SANDBOX_SERVER = "aeglobal_pipeline.sandbox.server"

# The stages, in order, and the asset groups that make them. dbt puts the governance models that
# read identity.global_person_map or the rules into person_records too; stage_selections() moves
# every asset that depends on a later stage into survivorship/plan, so each stage only needs what
# the stages before it built.
STAGES = ["extract", "staging", "identity", "survivorship/plan", "writeback (dry run)"]
STAGE_GROUPS = {
    "extract": 0, "reference_data": 1, "staging": 1, "person_records": 1, "identity": 2,
    "governance": 3, "marts": 3, "writeback": 4,
}
SURVIVORSHIP = 3
PERSON_OBJECTS = ("Lead", "Contact", "Prospect")
# Share of the changed records that are edits, deletes and new records.
CHANGE_MIX = {"edit": 0.70, "delete": 0.15, "new": 0.15}


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
        peak = 0
        while True:
            # wait4 reaps the child ourselves so that we get its rusage (ru_maxrss, KiB on Linux).
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                break
            peak = max(peak, _tree_rss(handle))
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    maxrss = usage.ru_maxrss * 1024
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(max(peak, maxrss) / MIB, 1),
        "polled_tree_rss_mib": round(peak / MIB, 1),
        "kernel_maxrss_mib": round(maxrss / MIB, 1),
        "exit_code": child.returncode,
        "log": str(log_path),
    }


class StepFailed(RuntimeError):
    pass


def step(name: str, command: list[str], env: dict[str, str], log_dir: Path, records: int | None) -> dict:
    shown = " ".join(command[1:])
    log(f"  {name}: {shown if len(shown) < 160 else shown[:157] + '...'}")
    slug = name.replace("/", "-").replace(" ", "_").replace("(", "").replace(")", "")
    result = measure(command, env, log_dir / f"{slug}.log")
    result["stage"] = name
    if records:
        result["records_per_second"] = round(records / result["seconds"], 1) if result["seconds"] else None
    log(f"  {name}: {result['seconds']:.1f}s, peak {result['peak_rss_mib']:.0f} MiB, "
        f"exit {result['exit_code']}")
    if result["exit_code"] != 0:
        tail = Path(result["log"]).read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        print("\n".join("    | " + line for line in tail), flush=True)
        raise StepFailed(f"{name} failed (exit {result['exit_code']}); see {result['log']}")
    return result


def stage_selections() -> list[tuple[str, str]]:
    """(stage, Dagster selection string) in run order, from the project's asset graph.

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
        if node.group_name not in STAGE_GROUPS:
            raise SystemExit(f"asset {key.to_user_string()} is in group {node.group_name!r}, "
                             "which scripts/bench.py does not place in a stage")
        base = STAGE_GROUPS[node.group_name]
        needed = max([base, *(stage[p] for p in node.parent_keys if p in stage)])
        stage[key] = max(needed, SURVIVORSHIP) if needed > base else base
    selections = []
    for number, name in enumerate(STAGES):
        terms = []
        for group in sorted({graph.get(k).group_name for k in keys}):
            members = [k for k in keys if graph.get(k).group_name == group]
            here = [k for k in members if stage[k] == number]
            if here and len(here) == len(members):
                terms.append(f"group:{group}")
            else:
                terms += [f'key:"{k.to_user_string()}"' for k in sorted(here, key=lambda k: k.path)]
        selections.append((name, " or ".join(terms)))
    return selections


def run_pipeline(stages: list[tuple[str, str]], env: dict[str, str], log_dir: Path,
                 records: int | None) -> list[dict]:
    return [
        step(name, [AEGLOBAL, "run", "--select", selection], env, log_dir, records)
        for name, selection in stages
    ]


# -- the snapshot and the incremental change ---------------------------------------------------


def count_rows(snapshot: Path) -> dict[str, int]:
    """Rows per object over all sources of a snapshot directory."""
    counts: dict[str, int] = {}
    for path in sorted(snapshot.glob("*/*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        counts[path.stem] = counts.get(path.stem, 0) + max(rows, 0)
    return counts


_SF_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id(prefix: str, number: int) -> str:
    """A well-formed 18-character Salesforce id: 15 characters plus the case checksum."""
    base = f"{prefix[:5]}{number:0{15 - len(prefix[:5])}d}"[:15]
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(base[chunk * 5:chunk * 5 + 5]) if char.isupper())
        suffix += _SF_CHECKSUM[bits]
    return base + suffix


def _salesforce_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def _edit_value(column: str, value: str, rng: random.Random) -> str:
    lower = column.lower()
    if lower == "email":
        local, _, domain = value.partition("@")
        if domain:
            return f"{local}.{rng.randint(1, 99)}@{domain}"
        return f"bench{rng.randint(1, 9999)}@example.com"
    if lower == "phone":
        digits = "0123456789"
        return (value[:-1] + rng.choice(digits)) if value else f"+1 555 {rng.randint(1000000, 9999999)}"
    if len(value) >= 3:  # a typo: swap two inner letters
        i = rng.randint(1, len(value) - 2)
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    return value + "e"


def make_change(snapshot: Path, out: Path, share: float, seed: int) -> dict:
    """Copy `snapshot` to `out` with `share` of the person records edited, deleted or added.

    Returns counts and the touched record keys (`<source>:<Object>:<Id>`, as in the map)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(snapshot, out)
    rng = random.Random(seed)
    sf_now = _salesforce_now()
    ae_now = datetime.now(UTC).isoformat(timespec="seconds")
    touched: set[str] = set()
    counts = {"edit": 0, "delete": 0, "new": 0}
    new_number = 0
    for path in sorted(out.glob("*/*.csv")):
        if path.stem not in PERSON_OBJECTS:
            continue
        source, object_name = path.parent.name, path.stem
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = list(reader)
        prospect = object_name == "Prospect"
        col = {name: i for i, name in enumerate(header)}
        id_col = col["id" if prospect else "Id"]
        deleted_col = col["isDeleted" if prospect else "IsDeleted"]
        stamp_cols = [col[c] for c in (("updatedAt",) if prospect else ("LastModifiedDate", "SystemModstamp"))
                      if c in col]
        created_col = col["createdAt" if prospect else "CreatedDate"]
        now = ae_now if prospect else sf_now
        edit_cols = [col[c] for c in (("firstName", "lastName", "email", "phone") if prospect
                                      else ("FirstName", "LastName", "Email", "Phone")) if c in col]
        live = [i for i, row in enumerate(rows) if row[deleted_col].lower() != "true"]
        changes = round(len(rows) * share)
        n_delete = round(changes * CHANGE_MIX["delete"])
        n_new = round(changes * CHANGE_MIX["new"])
        n_edit = changes - n_delete - n_new
        picked = rng.sample(live, min(len(live), n_edit + n_delete))
        for position, index in enumerate(picked):
            row = rows[index]
            touched.add(f"{source}:{object_name}:{row[id_col]}")
            if position < n_edit:
                column = rng.choice(edit_cols)
                row[column] = _edit_value(header[column], row[column], rng)
                counts["edit"] += 1
            else:
                row[deleted_col] = "true"
                counts["delete"] += 1
            for c in stamp_cols:
                row[c] = now
        if prospect:
            next_id = max((int(r[id_col]) for r in rows), default=0) + 1
        for template in rng.sample(rows, min(len(rows), n_new)) if rows else []:
            row = list(template)
            new_number += 1
            if prospect:
                row[id_col] = str(next_id)
                next_id += 1
            else:
                row[id_col] = salesforce_id(template[id_col][:3] + "BN", new_number)
                for c in ("Global_Person_Id__c", "ConvertedContactId", "ConvertedAccountId"):
                    if c in col:
                        row[col[c]] = ""
                if "IsConverted" in col:
                    row[col["IsConverted"]] = "false"
            column = rng.choice(edit_cols)
            row[column] = _edit_value(header[column], row[column], rng)
            row[deleted_col] = "false"
            row[created_col] = now
            for c in stamp_cols:
                row[c] = now
            rows.append(row)
            touched.add(f"{source}:{object_name}:{row[id_col]}")
            counts["new"] += 1
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return {"counts": counts, "touched": touched}


def person_map(home: Path) -> dict[str, str]:
    from aeglobal_pipeline import warehouse

    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        rows = con.execute("SELECT record_key, global_person_id FROM identity.global_person_map")
        return dict(rows.fetchall())


def compare_maps(before: dict[str, str], after: dict[str, str], touched: set[str]) -> dict:
    common = before.keys() & after.keys()
    untouched = [k for k in common if k not in touched]
    changed_untouched = [k for k in untouched if before[k] != after[k]]
    touched_common = [k for k in common if k in touched]
    return {
        "records_before": len(before),
        "records_after": len(after),
        "untouched_records_compared": len(untouched),
        "untouched_global_ids_changed": len(changed_untouched),
        "untouched_changed_examples": sorted(changed_untouched)[:10],
        "untouched_missing_after": len([k for k in before if k not in touched and k not in after]),
        "touched_records_compared": len(touched_common),
        "touched_global_ids_changed": sum(before[k] != after[k] for k in touched_common),
        "distinct_global_ids_before": len(set(before.values())),
        "distinct_global_ids_after": len(set(after.values())),
    }


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
    env.pop("AEGLOBAL_SOURCES", None)
    os.environ["AEGLOBAL_HOME"] = str(home)  # for reading the warehouse in this process
    fresh_home(home, env)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = home / "bench" / f"logs-{stamp}"
    snapshot = home / "snapshot" / "base"
    result: dict = {"persons": persons, "seed": args.seed, "home": str(home), "started_at": stamp,
                    "incremental_share": args.incremental_share}
    log(f"== {persons:,} persons in {home}")
    try:
        full: list[dict] = [step("generate", [AEGLOBAL, "sandbox", "generate", "--persons", str(persons),
                                              "--seed", str(args.seed), "--out", str(snapshot), "--no-load"],
                                 env, logs / "full", None)]
        counts = count_rows(snapshot)
        source_records = sum(counts.values())
        person_records = sum(n for obj, n in counts.items() if obj in PERSON_OBJECTS)
        result.update(objects=counts, source_records=source_records, person_records=person_records)
        log(f"  {source_records:,} source records ({person_records:,} person records): {counts}")
        full[0]["records_per_second"] = round(source_records / full[0]["seconds"], 1)
        full.append(step("load", [AEGLOBAL, "sandbox", "load", str(snapshot)], env, logs / "full",
                         source_records))
        stages = stage_selections()
        result["stage_selections"] = dict(stages)
        full += run_pipeline(stages, env, logs / "full", source_records)
        result["full"] = full
        result["full_pipeline_seconds"] = round(sum(s["seconds"] for s in full[2:]), 3)

        log(f"== incremental: changing {args.incremental_share:.1%} of the person records")
        before = person_map(home)
        changed_dir = home / "snapshot" / "changed"
        change = make_change(snapshot, changed_dir, args.incremental_share, args.seed + 1)
        result["change"] = {**change["counts"], "touched_records": len(change["touched"]),
                            "method": "modified snapshot loaded with `aeglobal sandbox load`"}
        log(f"  change: {change['counts']}")
        load = step("load changes", [AEGLOBAL, "sandbox", "load", str(changed_dir)], env,
                    logs / "incremental", None)
        incremental = run_pipeline(stages, env, logs / "incremental", len(change["touched"]))
        result["incremental_load"] = load
        result["incremental"] = incremental
        result["incremental_pipeline_seconds"] = round(sum(s["seconds"] for s in incremental), 3)
        result["incremental_fraction_of_full"] = round(
            result["incremental_pipeline_seconds"] / result["full_pipeline_seconds"], 3)
        result["identity_stability"] = compare_maps(before, person_map(home), change["touched"])
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
    print(f"aeglobal bench: {result['persons']:,} persons, "
          f"{result.get('source_records', 0):,} source records "
          f"({result.get('person_records', 0):,} person records), seed {result['seed']}")
    header = (f"{'stage':<20} {'full s':>9} {'peak MiB':>9} {'src rec/s':>11}   "
              f"{'incr s':>8} {'peak MiB':>9} {'incr/full':>9}")
    print(header)
    print("-" * len(header))
    incremental = {s["stage"]: s for s in result.get("incremental", [])}
    for stage in result.get("full", []):
        line = (f"{stage['stage']:<20} {stage['seconds']:>9.1f} {stage['peak_rss_mib']:>9.0f} "
                f"{stage.get('records_per_second') or 0:>11,.0f}")
        other = incremental.get(stage["stage"])
        if other:
            line += (f"   {other['seconds']:>8.1f} {other['peak_rss_mib']:>9.0f} "
                     f"{other['seconds'] / stage['seconds']:>9.0%}")
        print(line)
    if "full_pipeline_seconds" in result:
        total = result["full_pipeline_seconds"]
        rate = result["source_records"] / total if total else 0
        peak = max(s["peak_rss_mib"] for s in result["full"][2:])
        line = f"{'pipeline total':<20} {total:>9.1f} {peak:>9.0f} {rate:>11,.0f}"
        if "incremental_pipeline_seconds" in result:
            incr_peak = max(s["peak_rss_mib"] for s in result["incremental"])
            line += (f"   {result['incremental_pipeline_seconds']:>8.1f} {incr_peak:>9.0f} "
                     f"{result['incremental_fraction_of_full']:>9.0%}")
        print("-" * len(header))
        print(line)
    if "change" in result:
        change, stability = result["change"], result["identity_stability"]
        print(f"incremental change: {change['edit']} edits, {change['delete']} deletes, "
              f"{change['new']} new records (loading the changed snapshot took "
              f"{result['incremental_load']['seconds']:.1f}s, not counted)")
        print(f"incremental run: {result['incremental_fraction_of_full']:.0%} "
              "of the full run's pipeline time")
        print(f"global ids changed for untouched records: {stability['untouched_global_ids_changed']} of "
              f"{stability['untouched_records_compared']:,} (touched records whose id changed: "
              f"{stability['touched_global_ids_changed']} of {stability['touched_records_compared']})")
    if not result.get("ok"):
        print(f"FAILED: {result.get('error')}")
    print(f"json: {result['json']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--home", type=Path, default=Path("/tmp/aeglobal-bench"),  # noqa: S108
                        help="each size runs in a fresh DIR/<persons> (default /tmp/aeglobal-bench)")
    parser.add_argument("--incremental-share", type=float, default=0.01)
    args = parser.parse_args()
    if not 0 < args.incremental_share < 1:
        parser.error("--incremental-share must be between 0 and 1")
    results = []
    for persons in args.persons:
        result = bench_size(persons, args)
        results.append(result)
        print_table(result)
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
