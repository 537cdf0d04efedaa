-- What the rules do not cover yet, reported instead of dropped: columns of a source that the
-- field dictionary does not declare for its object and region (a field request), regional
-- statuses lifecycle.yaml does not map, and persons past their regime's retention period; and
-- each value or link the person records left out (int_governance__dropped_values).

with

source_fields as (

    select * from {{ ref('int_governance__source_fields') }}

),

record_stages as (

    select * from {{ ref('int_governance__record_stages') }}

),

golden as (

    select * from {{ ref('golden_person') }}

),

consent_regimes as (

    select * from {{ source('rules', 'consent_regimes') }}

),

dropped_values as (

    select * from {{ ref('int_governance__dropped_values') }}

),

undeclared_fields as (

    select
        'undeclared_field' as finding_type,
        source, object, region,
        api_name as subject,
        filled_records as record_count,
        'not in field_dictionary.yaml for ' || object || ' in ' || region || ': request it or drop it' as detail
    from source_fields
    where not is_declared

),

unmapped_statuses as (

    select
        'unmapped_status' as finding_type,
        source, object, region,
        coalesce(status, '(no status)') as subject,
        count(*) as record_count,
        'not in lifecycle.yaml status_map.' || region || '.' || object as detail
    from record_stages
    where not is_mapped
    group by all

),

as_of as (

    select max(last_modified_at) as as_of from golden

),

retention as (

    select
        'retention_exceeded' as finding_type,
        golden.owning_crm as source,
        null as object,
        golden.region,
        coalesce(golden.home_country_code, '(unknown country)') as subject,
        count(*) as record_count,
        'persons without activity for more than ' || any_value(coalesce(regime.retention_days, default_regime.retention_days))
            || ' days (' || any_value(coalesce(regime.law, default_regime.law)) || ')' as detail
    from golden
    cross join as_of
    left join consent_regimes as regime on regime.country_code = golden.home_country_code
    cross join (select * from consent_regimes where country_code = '*') as default_regime
    where date_diff('day', golden.last_modified_at, as_of.as_of)
          > coalesce(regime.retention_days, default_regime.retention_days)
    group by all

),

unioned as (

    select * from undeclared_fields
    union all
    select * from unmapped_statuses
    union all
    select * from retention
    union all
    select * from dropped_values

),

final as (

    select
        md5(concat_ws('|', finding_type, source, object, region, subject)) as finding_id,
        *
    from unioned

)

select * from final
