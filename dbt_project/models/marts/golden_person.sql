{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- One row per global person: per canonical field the surviving value, the record that supplied
-- it (`<field>__source`) and the rule that chose it (`<field>__rule`); plus owning org, global
-- lifecycle stage and Core & Flex score. Incremental per person (macros/incremental_governance.sql).

with

persons as (

    select * from {{ ref('int_governance__persons') }}
    where {{ for_changed_persons('global_person_id') }}

),

candidates as (

    select * from {{ ref('int_governance__candidates') }}
    where {{ for_changed_persons('global_person_id', stamped_by='int_governance__candidates') }}

),

lifecycle as (

    select * from {{ ref('int_governance__person_lifecycle') }}
    where {{ for_changed_persons('global_person_id') }}

),

consent_regimes as (

    select * from {{ source('rules', 'consent_regimes') }}

),

-- `not materialized`: each join below reads its own field's slice of the candidates table, instead
-- of DuckDB first copying every winner aside (it would, for a CTE read more than once).
winners as not materialized (

    select global_person_id, field, value, record_key, rule_name || ' → ' || reason as rule
    from candidates
    where person_rank = 1

),

final as (

    -- One join per field (a winner is unique per person and field): cheaper than pivoting
    -- millions of winners through one aggregate with three states per field.
    select
        persons.global_person_id,
        persons.home_country_code,
        persons.owning_crm,
        persons.region,
        persons.record_count,
        persons.source_count,
        persons.legal_entities,
        {%- for f in governance_fields() %}
        {{ f.name }}__winner.value::{{ f.type }} as {{ f.name }},
        {{ f.name }}__winner.record_key as {{ f.name }}__source,
        {{ f.name }}__winner.rule as {{ f.name }}__rule,
        {%- endfor %}
        lifecycle.global_lifecycle_stage,
        lifecycle.global_score,
        lifecycle.core_score,
        lifecycle.flex_score,
        coalesce(regime.regime, default_regime.regime) as consent_regime,
        coalesce(regime.law, default_regime.law) as consent_law,
        persons.last_modified_at
    from persons
    {%- for f in governance_fields() %}
    left join winners as {{ f.name }}__winner
        on {{ f.name }}__winner.global_person_id = persons.global_person_id
        and {{ f.name }}__winner.field = '{{ f.name }}'
    {%- endfor %}
    left join lifecycle on lifecycle.global_person_id = persons.global_person_id
    left join consent_regimes as regime on regime.country_code = persons.home_country_code
    cross join (select * from consent_regimes where country_code = '*') as default_regime

)

select * from final
