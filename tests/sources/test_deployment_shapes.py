"""`aeglobal run` on a Salesforce-only estate, and business units added to it later (the rollout's
phase 3). The Account Engagement-only, empty-unit and 15-character-id shapes are in
test_deployment_shapes_ae.py (two files, so `pytest -n 2 --dist loadfile` runs them side by side)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shape_helpers import cut, generate_estate, load_and_run, query, sources_of
from snapshot_helpers import private_home


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_estate(tmp_path_factory)


def test_a_salesforce_only_estate_runs_and_business_units_added_later_join(generated, tmp_path):
    """Phase 3 of the rollout: orgs first, Account Engagement units added to sources.yaml later."""
    crm_only = cut(generated, tmp_path / "crm_only", "salesforce")
    with private_home(tmp_path / "home") as home:
        load_and_run(home, crm_only)
        mapped = {r[0] for r in query(home, "select distinct source from identity.global_person_map")}
        assert mapped == sources_of(crm_only) == {"crm_emea", "crm_na", "crm_apac"}
        assert query(home, "select count(*) from raw.account_engagement_prospects")[0][0] == 0

        load_and_run(home, cut(generated, tmp_path / "everything", None))
        counts = dict(query(home, "select source, count(*) from identity.global_person_map group by 1"))
        assert counts.get("ae_emea", 0) > 0 and counts.get("ae_na", 0) > 0
        linked = query(home, "select count(*) from intermediate.int_person_records where "
                              "source = 'ae_emea' and coalesce(crm_lead_key, crm_contact_key) is not null")
        assert linked[0][0] > 0
