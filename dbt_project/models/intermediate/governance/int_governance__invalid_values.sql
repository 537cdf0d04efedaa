{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Every value that failed value hygiene (macros/governance/value_hygiene.sql), with the record
-- key and the reason: it never wins survivorship and is never written (DESIGN rule 8), and
-- stewards see it in governance_findings instead of it being dropped silently.
-- Incremental per person (macros/incremental_governance.sql).

-- value hygiene's word lists (macros/governance/value_hygiene.sql)
-- depends_on: {{ ref('placeholder_values') }}
-- depends_on: {{ ref('email_domain_typos') }}

with

records as (

    select * from {{ ref('int_governance__records') }}
    where {{ for_changed_persons('global_person_id') }}

),

field_values as (

    {{ field_values_of('records') }}

),

final as (

    select global_person_id, record_key, source, object, region, field, value, problem
    from field_values
    where problem is not null

)

select * from final
