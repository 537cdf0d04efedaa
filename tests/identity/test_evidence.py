"""Contradictions that outweigh shared context, and strong evidence that outweighs a name.

B2B look-alikes (a father and son at one company, twins) must stay apart however much context
they share; a chain may not join records whose strong identifiers contradict; and on B2C data
(names, postal address, birthdate; no e-mail, no phone) the model trains and a swapped name with
the same birthdate and street still merges.
"""

from __future__ import annotations

import json
import shutil

import pytest
import standin
from standin import hand_record

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.clustering import cluster_records
from aeglobal_pipeline.identity.evaluate import evaluate
from aeglobal_pipeline.identity.model import train_model
from aeglobal_pipeline.identity.resolve import _load_memory, resolve_identities, train_step
from aeglobal_pipeline.identity.settings import load_matching_rules, rules_dir
from aeglobal_pipeline.identity.stable_ids import MAP_TABLE

OFFICE = {"company": "Wexley Tools Inc.", "phone_e164": "+16175550100", "street": "12 Harbor Rd",
          "postal_code": "02110", "city": "Boston", "country_code": "US"}  # fmt: skip


def _ids() -> dict[str, str]:
    with warehouse.connect(read_only=True) as con:
        return dict(con.execute(f"SELECT record_key, global_person_id FROM {MAP_TABLE}").fetchall())  # noqa: S608


def test_father_and_son_with_one_name_company_and_phone_stay_apart(identity_home):
    people = [
        hand_record("crm_na:Contact:FS1", "Harold", "Wexley", birthdate="1951-04-02",
                    email="harold.wexley@wexleytools.com", **OFFICE),
        hand_record("crm_na:Lead:FS2", "Harold", "Wexley", email="harold.wexley@wexleytools.com", **OFFICE),
        hand_record("crm_na:Contact:FS3", "Harold", "Wexley Jr.", birthdate="1979-09-30", **OFFICE),
        hand_record("crm_na:Lead:FS4", "Harold", "Wexley", **OFFICE),  # the son, suffix left off
        hand_record("crm_na:Lead:FS5", "Harold", "Wexley Jr", birthdate="1979-09-30", **OFFICE),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="fs1")
    ids = _ids()
    father = {ids["crm_na:Contact:FS1"], ids["crm_na:Lead:FS2"]}
    son = {ids["crm_na:Contact:FS3"], ids["crm_na:Lead:FS5"]}
    assert len(father) == 1 and len(son) == 1  # each one person (e-mail; birthdate and suffix)
    # FS4 (no suffix, no birthdate) may join either; the chain through it must not join both.
    assert father != son


def test_twins_sharing_birthdate_address_and_phone_stay_apart(identity_home):
    home = {"street": "Lindenweg 4", "postal_code": "80331", "city": "München", "phone_e164": "+49891234567",
            "birthdate": "1990-05-05"}  # fmt: skip
    people = [
        hand_record("crm_emea:Contact:TW1", "Lotte", "Brandauer", **home),
        hand_record("crm_emea:Contact:TW2", "Lotte", "Brandauer", **home),
        hand_record("crm_emea:Contact:TW3", "Greta", "Brandauer", **home),
        hand_record("crm_emea:Contact:TW4", "Greta", "Brandauer", **home),
        # A form without the given name: it may join either twin, never both.
        hand_record("crm_emea:Contact:TW5", None, "Brandauer", **home),
    ]
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="tw1")
    ids = _ids()
    lotte = {ids["crm_emea:Contact:TW1"], ids["crm_emea:Contact:TW2"]}
    greta = {ids["crm_emea:Contact:TW3"], ids["crm_emea:Contact:TW4"]}
    assert lotte.isdisjoint(greta)
    with warehouse.connect(read_only=True) as con:
        decisions = dict(con.execute(
            "SELECT record_key_b, decision FROM identity.person_links WHERE record_key_a = ?",
            ["crm_emea:Contact:TW1"]).fetchall())
    assert decisions["crm_emea:Contact:TW3"] == "kept_apart"
    assert decisions["crm_emea:Contact:TW5"] == "accepted"  # the bridge the cut had to undo


def test_a_chain_whose_ends_contradict_on_birthdate_is_cut_at_its_weakest_edge():
    edges = [("A", "B", 9.0), ("B", "C", 4.0)]
    born = {"A": ("1970-01-01", None), "C": ("1985-06-06", None)}
    result = cluster_records(["A", "B", "C"], edges, identifiers=born)
    assert result.cluster_of["A"] == result.cluster_of["B"] != result.cluster_of["C"]
    assert result.edges_cut_cannot_link == 1
    # A one-character typo in a birthdate is no contradiction; nor is a missing one.
    for typo in ("1970-01-07", "1907-01-01"):  # a slip, and two digits swapped
        typed = {"A": ("1970-01-01", None), "C": (typo, None)}
        assert len(set(cluster_records(["A", "B", "C"], edges, identifiers=typed).cluster_of.values())) == 1
    # Different generational suffixes contradict too; a suffix on one side only does not.
    suffixes = {"A": (None, "sr"), "C": ("1970-01-01", "jr")}
    result = cluster_records(["A", "B", "C"], edges, identifiers=suffixes)
    assert result.cluster_of["A"] != result.cluster_of["C"]
    one_side = {"A": (None, "jr"), "C": ("1970-01-01", None)}
    assert len(set(cluster_records(["A", "B", "C"], edges, identifiers=one_side).cluster_of.values())) == 1


@pytest.fixture(scope="module")
def b2c_home(tmp_path_factory):
    """A B2C snapshot without e-mail or phone: Contacts with names, address and birthdate."""
    from aeglobal_pipeline.sandbox.b2c import generate_b2c_snapshot

    home = tmp_path_factory.mktemp("b2c_home")
    rules = home / "rules"
    rules.mkdir()
    for name in ("matching.yaml", "nicknames.yaml"):
        shutil.copy(rules_dir() / name, rules / name)
    (rules / "steward_decisions.yaml").write_text("decisions: []\n")
    summary = generate_b2c_snapshot(700, 3, home / "snapshot", orgs=2, contact_points="none")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.setenv("AEGLOBAL_RULES", str(rules))
        with warehouse.connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS identity")
            standin.build_int_person_records(summary.out, con)
            con.execute("CREATE SCHEMA IF NOT EXISTS identity")
            swapped = [
                hand_record("crm_emea:Contact:SW1", "Quirin", "Obermaier", birthdate="1970-02-03",
                            street="Lindenweg 4", postal_code="80331", city="München"),
                hand_record("crm_emea:Contact:SW2", "Obermaier", "Quirin", birthdate="1970-02-03",
                            street="Lindenweg 4", postal_code="80331", city="München"),
            ]  # fmt: skip
            standin.put_records(con, swapped)
        artefact, trained = train_step(retrain=True)
        assert trained
        resolve_identities(run_id="b2c1")
        yield summary, artefact


def test_b2c_snapshot_without_email_trains_from_the_evidence_it_has(b2c_home):
    _, artefact = b2c_home
    manifest = json.loads((artefact.path / "manifest.json").read_text())
    assert not manifest["cold_start"]
    status = {tuple(s["rule"]): s["status"] for s in manifest["em_sessions"]}
    assert status[("email_match",)] == "skipped" and status[("mobile_match",)] == "skipped"
    assert status[("birthdate", "postal_norm")] == "trained"  # the fallback that trains names
    prior = manifest["prior_estimate"]["used"]["rules"]
    assert prior == [["family_name_norm", "given_name_norm", "birthdate"]]  # the fallback rule
    assert manifest["warnings"] == []  # every comparison was trained by some session


def test_comparisons_no_session_trains_keep_defaults_with_a_warning(b2c_home):
    rules = load_matching_rules()
    training = rules.training.model_copy(update={
        "em_blocking_rules": [["email_match"], ["family_name_norm", "given_name_norm"]],
        "em_fallback_blocking_rules": [],
    })
    narrowed = rules.model_copy(update={"training": training})
    memory, _ = _load_memory()
    with memory:
        _, report = train_model(memory, narrowed)
    assert [s["status"] for s in report.sessions] == ["skipped", "trained"]
    assert [w.split(":")[0] for w in report.warnings] == ["comparison name"]


def test_b2c_snapshot_without_email_resolves(b2c_home):
    summary, _ = b2c_home
    report = evaluate(summary.truth_path, summary.hard_negatives_path)
    assert report.scores.pairwise_f1 >= 0.9, str(report)
    assert report.hard_negatives.merged_share <= 0.02, str(report)
    ids = _ids()
    # a swapped given/family name with the same birthdate and street
    assert ids["crm_emea:Contact:SW1"] == ids["crm_emea:Contact:SW2"]
