"""The Dagster job's first step: validate sources.yaml and identity_rules/ before anything moves.

Every asset that starts the pipeline (the extracts, the source systems table, the rules tables,
the dbt seeds) depends on `configuration_check`, so when a file is bad the run fails here and
skips the rest: no API call, no warehouse write.
"""

import dagster as dg

CONFIGURATION_CHECK_KEY = dg.AssetKey(["configuration_check"])


@dg.asset(
    key=CONFIGURATION_CHECK_KEY,
    group_name="governance",
    kinds={"yaml"},
    owners=["team:data-governance"],
)
def configuration_check(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """sources.yaml and every identity_rules/ file, each against its schema and each other."""
    from aeglobal_pipeline.rules_check import validate_configuration

    report = validate_configuration(log=context.log.warning)  # raises, naming file, line and key
    return dg.MaterializeResult(
        metadata={
            "files": dg.MetadataValue.json(report.files),
            "notes": dg.MetadataValue.json(report.notes),
        }
    )
