-- For every write-back target field: the best candidate value that target may see. Candidates
-- from another legal entity count only where sharing.yaml lets the field cross, and consent
-- fields only within consent.yaml's propagation scope. Ranked with the same keys as
-- golden_person (survivorship_order), so within what a target may see precedence still rules.
-- Computed in int_governance__writeback_choices, which also holds the targets that may see no
-- candidate at all (their value columns, record_key included, are null).

{{ config(materialized='view') }}

with

choices as (

    select * from {{ ref('int_governance__writeback_choices') }}

),

final as (

    select * from choices where record_key is not null

)

select * from final
