{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Each governed record's regional status (Lead Status, or its object when it has none) mapped
-- to a global stage by lifecycle.yaml. Unmapped values keep a null stage and are reported.

with

records as (

    select * from {{ ref('int_governance__records') }}
    where {{ for_changed_persons('global_person_id') }}

),

status_map as (

    select * from {{ source('rules', 'lifecycle_status_map') }}

),

stages as (

    select * from {{ source('rules', 'lifecycle_stages') }}

),

mapped as (

    select
        records.record_key,
        records.global_person_id,
        records.source,
        records.object,
        records.region,
        records.status,
        coalesce(by_status.stage, by_object.stage) as stage,
        coalesce(by_status.stage, by_object.stage) is not null as is_mapped
    from records
    left join status_map as by_status
        on by_status.region = records.region
        and by_status.object = records.object
        and by_status.status = records.status
    left join status_map as by_object
        on records.status is null
        and by_object.region = '*'
        and by_object.object = records.object

),

final as (

    select
        mapped.*,
        stages.rank as stage_rank
    from mapped
    left join stages on stages.stage = mapped.stage

)

select * from final
