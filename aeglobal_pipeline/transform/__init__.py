"""dbt models as Dagster assets: staging, intermediate person records, marts."""
