-- Every canonical field of every governed record in long form (one row per record × field),
-- empty values included: the survivorship candidates and each record's current state.
-- A view: an unnest of int_governance__records is cheaper to recompute for its two readers
-- (candidates, writeback_plan) than to store 14 rows per record.

{{ config(materialized='view') }}

-- value hygiene's word lists (macros/governance/value_hygiene.sql)
-- depends_on: {{ ref('placeholder_values') }}
-- depends_on: {{ ref('email_domain_typos') }}

with

records as (

    select * from {{ ref('int_governance__records') }}

),

unpivoted as (

    {{ field_values_of('records') }}

),

final as (

    select * from unpivoted

)

select * from final
