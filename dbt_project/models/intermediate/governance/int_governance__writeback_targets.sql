-- What the write-back may touch: every writable governed record × every central field the
-- dictionary gives an API name for on its object, that exists in that source, and that no
-- protected_fields rule shields on this target. Computed and stored with each target's winner in
-- int_governance__writeback_choices (same grain); this view keeps the targets' columns.

{{ config(materialized='view') }}

with

choices as (

    select * from {{ ref('int_governance__writeback_choices') }}

),

final as (

    select
        target_record_key,
        global_person_id,
        target_source,
        object,
        record_id,
        target_kind,
        target_legal_entity,
        target_connected_crm,
        owning_crm,
        field,
        api_name,
        current_api_value,
        _built_at
    from choices

)

select * from final
