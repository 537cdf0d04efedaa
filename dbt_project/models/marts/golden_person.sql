-- One row per global person: per canonical field the surviving value, the record that supplied
-- it (`<field>__source`) and the rule that chose it (`<field>__rule`); plus owning org, global
-- lifecycle stage and Core & Flex score.

with

persons as (

    select * from {{ ref('int_governance__persons') }}

),

candidates as (

    select * from {{ ref('int_governance__candidates') }}

),

lifecycle as (

    select * from {{ ref('int_governance__person_lifecycle') }}

),

consent_regimes as (

    select * from {{ source('rules', 'consent_regimes') }}

),

winners as (

    select * from candidates where person_rank = 1

),

pivoted as (

    select
        global_person_id,
        {%- for f in governance_fields() %}
        max(value) filter (where field = '{{ f.name }}')::{{ f.type }} as {{ f.name }},
        max(record_key) filter (where field = '{{ f.name }}') as {{ f.name }}__source,
        max(rule_name || ' → ' || reason) filter (where field = '{{ f.name }}') as {{ f.name }}__rule
        {{- ',' if not loop.last }}
        {%- endfor %}
    from winners
    group by global_person_id

),

final as (

    select
        persons.global_person_id,
        persons.home_country_code,
        persons.owning_crm,
        persons.region,
        persons.record_count,
        persons.source_count,
        persons.legal_entities,
        pivoted.* exclude (global_person_id),
        lifecycle.global_lifecycle_stage,
        lifecycle.global_score,
        lifecycle.core_score,
        lifecycle.flex_score,
        coalesce(regime.regime, default_regime.regime) as consent_regime,
        coalesce(regime.law, default_regime.law) as consent_law,
        persons.last_modified_at
    from persons
    left join pivoted on pivoted.global_person_id = persons.global_person_id
    left join lifecycle on lifecycle.global_person_id = persons.global_person_id
    left join consent_regimes as regime on regime.country_code = persons.home_country_code
    cross join (select * from consent_regimes where country_code = '*') as default_regime

)

select * from final
