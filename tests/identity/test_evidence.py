"""Contradictions that outweigh shared context, and strong evidence that outweighs a name.

B2B look-alikes (a father and son at one company, twins) must stay apart however much context
they share; a chain may not join records whose strong identifiers contradict; and on B2C data
(names, postal address, birthdate; no e-mail, no phone) the model trains and a swapped name with
the same birthdate and street still merges.
"""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pytest
import standin
from identity_reads import global_ids, scored_links
from standin import hand_record

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.clustering import cluster_records
from aeglobal_pipeline.identity.evaluate import evaluate
from aeglobal_pipeline.identity.features import RECORD_COLUMNS, in_memory, load_records
from aeglobal_pipeline.identity.model import latest_model, train_model
from aeglobal_pipeline.identity.resolve import _load_memory, resolve_identities, train_step
from aeglobal_pipeline.identity.settings import load_matching_rules, rules_dir

OFFICE = {"company": "Wexley Tools Inc.", "phone_e164": "+16175550100", "street": "12 Harbor Rd",
          "postal_code": "02110", "city": "Boston", "country_code": "US"}  # fmt: skip


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
    ids = global_ids()
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
    ids = global_ids()
    lotte = {ids["crm_emea:Contact:TW1"], ids["crm_emea:Contact:TW2"]}
    greta = {ids["crm_emea:Contact:TW3"], ids["crm_emea:Contact:TW4"]}
    assert lotte.isdisjoint(greta)
    with warehouse.connect(read_only=True) as con:
        decisions = dict(con.execute(
            "SELECT record_key_b, decision FROM identity.person_links WHERE record_key_a = ?",
            ["crm_emea:Contact:TW1"]).fetchall())
    assert decisions["crm_emea:Contact:TW3"] == "kept_apart"
    assert decisions["crm_emea:Contact:TW5"] == "accepted"  # the bridge the cut had to undo
    # On data like ours the veto holds: one person's records rarely carry two given names.
    [where_common] = latest_model().manifest["vetoes_where_common"]
    assert not where_common["yields"] and where_common["m_probability"] < where_common["at_least"]


def test_a_typo_in_a_short_given_name_is_no_twin_but_another_given_name_is(identity_home):
    home = {"street": "Lindenweg 4", "postal_code": "80331", "city": "München", "birthdate": "1990-05-05"}
    people = [
        hand_record("crm_emea:Contact:GT1", "Kai", "Brandauer", **home),
        hand_record("crm_emea:Contact:GT2", "Kia", "Brandauer", **home),  # two letters swapped
        hand_record("crm_emea:Contact:GT3", "Greta", "Brandauer", **home),  # his twin sister
        # one keystroke in a short given name, and the birthdate keyed day first on one form
        hand_record("crm_emea:Contact:GT4", "Amy", "Quastner", birthdate="1983-04-09",
                    street="Hauptstr. 7", postal_code="80331", city="München"),
        hand_record("crm_emea:Contact:GT5", "Any", "Quastner", birthdate="1983-09-04",
                    street="Hauptstr. 7", postal_code="80331", city="München"),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="gt1")
    ids = global_ids()
    links = scored_links(*(f"crm_emea:Contact:GT{n}" for n in range(1, 6)))
    assert links[("crm_emea:Contact:GT1", "crm_emea:Contact:GT2")][0] == "accepted"
    assert ids["crm_emea:Contact:GT1"] == ids["crm_emea:Contact:GT2"]
    assert links[("crm_emea:Contact:GT1", "crm_emea:Contact:GT3")][0] == "kept_apart"
    assert ids["crm_emea:Contact:GT3"] != ids["crm_emea:Contact:GT1"]
    assert ids["crm_emea:Contact:GT4"] == ids["crm_emea:Contact:GT5"]


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
    # Nor are two digits swapped across the month/day boundary, or day and month swapped.
    for first, other in (("1964-03-11", "1964-01-31"), ("1983-04-09", "1983-09-04")):
        typed = {"A": (first, None), "C": (other, None)}
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
    prior = manifest["prior_estimate"]["used"]
    assert prior["rules"] == [["family_name_norm", "given_name_norm", "birthdate"]]  # the fallback rule
    assert manifest["warnings"] == []  # every comparison was trained by some session
    # the prior's recall is what the trained model says of that rule, not the assumed 0.6: the
    # m-probabilities of an exact name and an exact birthdate multiplied, and the prior follows
    model = json.loads((artefact.path / "model.json").read_text())
    m = {c["output_column_name"]: c["comparison_levels"][1]["m_probability"]  # [0] is the null level
         for c in model["comparisons"] if c["output_column_name"] in ("name", "birthdate")}
    with warehouse.connect(read_only=True) as con:  # the share of records with name and birthdate
        complete = con.execute(
            "SELECT count(*) FILTER (WHERE given_name_norm IS NOT NULL AND family_name_norm IS NOT NULL "
            "AND birthdate IS NOT NULL) / count(*) FROM identity.record_features"
        ).fetchall()[0][0]
    assert prior["recall_from_model"] == pytest.approx(m["name"] * m["birthdate"] * complete**2, abs=1e-4)
    assert prior["recall_from_model"] != prior["recall"]
    pairs = manifest["prior_estimate"]["tried"][-1]["pairs"][0]
    records = manifest["records"]
    expected = pairs / prior["recall_from_model"] / (records * (records - 1) / 2)
    assert model["probability_two_random_records_match"] == pytest.approx(expected, rel=0.01)


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
    # the prior's recall cannot come from an untrained name comparison: kept as assumed, said so
    assert [w.split(":")[0] for w in report.warnings] == ["prior", "comparison name"]
    assert "untrained: ['name']" in report.warnings[0]
    assert "recall_from_model" not in report.prior["used"]


def test_b2c_snapshot_without_email_resolves(b2c_home):
    summary, _ = b2c_home
    report = evaluate(summary.truth_path, summary.hard_negatives_path)
    assert report.scores.pairwise_f1 >= 0.9, str(report)
    assert report.hard_negatives.merged_share <= 0.02, str(report)
    ids = global_ids()
    # a swapped given/family name with the same birthdate and street
    assert ids["crm_emea:Contact:SW1"] == ids["crm_emea:Contact:SW2"]


def test_a_placeholder_name_part_counts_as_missing_not_as_another_name():
    records = pa.Table.from_pylist([
        hand_record("crm_na:Lead:PN1", "Private", "White"),
        hand_record("crm_na:Lead:PN2", "Laura", "Unknown"),
        hand_record("crm_na:Lead:PN3", "n/a", "White"),
        hand_record("crm_na:Lead:PN4", "Na", "Li"),
    ]).select(list(RECORD_COLUMNS))
    memory = in_memory()
    load_records(memory, records, nicknames=[("laura", 0), ("laurie", 0)])
    known = {key: (given, family, full) for key, given, family, full in memory.execute(
        "SELECT record_key, given_name_known, family_name_known, full_name FROM person_features").fetchall()}
    assert known["crm_na:Lead:PN1"] == (None, "white", "private white")
    assert known["crm_na:Lead:PN2"] == ("laura", None, "laura unknown")
    assert known["crm_na:Lead:PN3"][0] is None  # "n/a" folds to "na", value hygiene's placeholder
    # "Na" is a given name too: the name as typed still matches "Na Li" exactly
    assert known["crm_na:Lead:PN4"] == (None, "li", "na li")


def test_placeholder_names_and_a_typo_join_on_the_persons_own_identifiers(identity_home):
    mailbox = "j.passcheirs@wexleytools.com"
    office = {k: v for k, v in OFFICE.items() if k not in ("street", "postal_code")}
    people = [
        hand_record("crm_na:Contact:PH1", "Colin", "Redley", birthdate="1980-03-04", **office),
        hand_record("crm_na:Lead:PH2", "Private", "Redley", birthdate="1980-03-04", **office),
        hand_record("crm_na:Lead:PH3", "Colin", "Unknown", birthdate="1980-03-04", **office),
        # a typo'd given name and the same individual mailbox (typo'd too) at the company's domain
        hand_record("crm_na:Contact:PH4", "Jan", "Passchiers", email=mailbox, **OFFICE),
        hand_record("crm_na:Lead:PH5", "Jsn", "Passchiers", email=mailbox, **OFFICE),
        # relatives sharing a household free-mail address stay two people
        hand_record("crm_na:Contact:PH6", "Anna", "Quastner", email="quastner.family@gmail.com", **OFFICE),
        hand_record("crm_na:Lead:PH7", "Moritz", "Quastner", email="quastner.family@gmail.com", **OFFICE),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="ph1")
    ids = global_ids()
    assert ids["crm_na:Contact:PH1"] == ids["crm_na:Lead:PH2"] == ids["crm_na:Lead:PH3"]
    assert ids["crm_na:Contact:PH4"] == ids["crm_na:Lead:PH5"]
    assert ids["crm_na:Contact:PH6"] != ids["crm_na:Lead:PH7"]


def test_a_job_change_joins_on_name_and_own_mobile_but_vetoes_still_win(identity_home):
    new_job = {"company": "Ostrander Freight LLC", "phone_e164": "+13125550188", "street": "400 Lake St",
               "postal_code": "60601", "city": "Chicago", "country_code": "US"}  # fmt: skip
    people = [
        hand_record("crm_na:Contact:JC1", "William", "Smith", email="william.smith@wexleytools.com",
                    mobile_e164="+16175550142", **OFFICE),
        hand_record("crm_na:Lead:JC2", "William", "Smith", email="wsmith@ostranderfreight.com",
                    mobile_e164="+16175550142", **new_job),
        # a father and son sharing the family mobile: the suffixes contradict
        hand_record("crm_na:Contact:JC3", "Harold", "Wexley Sr.", mobile_e164="+16175550177", **OFFICE),
        hand_record("crm_na:Lead:JC4", "Harold", "Wexley Jr.", mobile_e164="+16175550177", **OFFICE),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="jc1")
    ids = global_ids()
    links = scored_links("crm_na:Contact:JC1", "crm_na:Lead:JC2", "crm_na:Contact:JC3", "crm_na:Lead:JC4")
    decision, probability = links[("crm_na:Contact:JC1", "crm_na:Lead:JC2")]
    # accepted by the link_on rule, not by the score: the job change's disagreements pull it down
    assert decision == "accepted" and probability < load_matching_rules().thresholds.match_probability
    assert ids["crm_na:Contact:JC1"] == ids["crm_na:Lead:JC2"]
    assert links[("crm_na:Contact:JC3", "crm_na:Lead:JC4")][0] == "vetoed"
    assert ids["crm_na:Contact:JC3"] != ids["crm_na:Lead:JC4"]


def test_two_personal_mailboxes_at_one_company_domain_stay_apart_even_through_a_third_record(identity_home):
    people = [
        hand_record("crm_na:Contact:CM1", "Wei", "Zhang", email="wei.zhang@wexleytools.com", **OFFICE),
        hand_record("crm_na:Contact:CM2", "Wei", "Zhang", email="zhang.wei@wexleytools.com", **OFFICE),
        hand_record("crm_na:Lead:CM3", "Wei", "Zhang", **OFFICE),  # a form without the e-mail
        # an unlisted shared mailbox is no second person's mailbox: one person, one office
        hand_record("crm_na:Contact:CM4", "Kenneth", "Schwartz", email="k.schwartz@wexleytools.com",
                    birthdate="1972-08-09", **OFFICE),
        hand_record("crm_na:Lead:CM5", "Kenneth", "Schwartz", email="bostonfrontdesk@wexleytools.com",
                    birthdate="1972-08-09", **OFFICE),
        # the mail server numbered the second Min Wang's mailbox: no typo, another person
        hand_record("crm_na:Contact:CM6", "Min", "Wang", email="min.wang@wexleytools.com", **OFFICE),
        hand_record("crm_na:Contact:CM7", "Min", "Wang", email="min.wang2@wexleytools.com", **OFFICE),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="cm1")
    ids = global_ids()
    pair = ("crm_na:Contact:CM1", "crm_na:Contact:CM2")
    assert scored_links(*pair)[pair][0] == "kept_apart"
    assert ids["crm_na:Contact:CM1"] != ids["crm_na:Contact:CM2"]
    numbered = ("crm_na:Contact:CM6", "crm_na:Contact:CM7")
    assert scored_links(*numbered)[numbered][0] in ("kept_apart", "vetoed")
    assert ids["crm_na:Contact:CM6"] != ids["crm_na:Contact:CM7"]
    assert ids["crm_na:Contact:CM4"] == ids["crm_na:Lead:CM5"]


def test_one_name_at_two_employers_needs_a_second_identifier(identity_home):
    """Same name, same city, two employers and nothing personal in common: two namesakes (or a
    job change nobody can prove), kept apart; the same pair with one mobile is one person."""
    city = {"city": "Boston", "postal_code": "02110", "country_code": "US"}
    people = [
        # as a web form's leads: name, company and city only
        hand_record("crm_na:Lead:NS1", "Daniel", "Okafor", company="Brightwater Analytics", **city),
        hand_record("crm_na:Lead:NS2", "Daniel", "Okafor", company="Harbor Freight Logistics", **city),
        hand_record("crm_na:Lead:JC1", "Imani", "Kesterton", company="Brightwater Analytics",
                    email="i.kesterton@brightwater.com", mobile_e164="+16175550142", **city),
        hand_record("crm_na:Lead:JC2", "Imani", "Kesterton", company="Harbor Freight Logistics",
                    email="imani.kesterton@harborfreight.com", mobile_e164="+16175550142", **city),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="ns1")
    ids = global_ids()
    assert ids["crm_na:Lead:NS1"] != ids["crm_na:Lead:NS2"]
    assert ids["crm_na:Lead:JC1"] == ids["crm_na:Lead:JC2"]
    with warehouse.connect(read_only=True) as con:
        decision = con.execute(
            "SELECT decision FROM identity.person_links WHERE record_key_a = ? AND record_key_b = ?",
            sorted(["crm_na:Lead:NS1", "crm_na:Lead:NS2"])).fetchone()
    # the rule made the difference: the pair was scored and vetoed, not merely scored low
    assert decision is not None and decision[0] in ("vetoed", "kept_apart")
