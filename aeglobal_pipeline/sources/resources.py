"""The Dagster resource that hands out API clients for the systems in sources.yaml.

Whether a source is a live org or the local sandbox is decided per source by its
`connection` in sources.yaml, so one deployment can mix both while rehearsing.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from aeglobal_pipeline.config import SourcesFile, load_sources, parse_sources


class SourceSystems(dg.ConfigurableResource):
    """Salesforce orgs and Account Engagement business units named in sources.yaml."""

    sources_file: str = ""  # empty: the active file ($AEGLOBAL_SOURCES or $AEGLOBAL_HOME/sources.yaml)

    def sources(self) -> SourcesFile:
        return parse_sources(Path(self.sources_file)) if self.sources_file else load_sources()

    def salesforce(self, name: str):
        from aeglobal_pipeline.sources.salesforce_client import connect_salesforce

        return connect_salesforce(self.sources().by_name(name))

    def account_engagement(self, name: str):
        from aeglobal_pipeline.sources.account_engagement import connect_account_engagement

        return connect_account_engagement(self.sources().by_name(name))
