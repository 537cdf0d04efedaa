-- Every canonical field of every governed record in long form (one row per record × field),
-- empty values included: the survivorship candidates and each record's current state.
-- A view: an unnest of int_governance__records is cheaper to recompute for its two readers
-- (candidates, writeback_plan) than to store 14 rows per record.

{{ config(materialized='view') }}

with

records as (

    select * from {{ ref('int_governance__records') }}

),

unpivoted as (

    select
        record_key, global_person_id, source, object, record_id, kind, connected_crm,
        legal_entity, region, last_modified_at, is_writable,
        unnest({{ governance_field_values('records') }}, recursive := true)
    from records

),

final as (

    select * from unpivoted

)

select * from final
