-- What the rules do not cover yet, reported instead of dropped: columns of a source that the
-- field dictionary does not declare for its object and region (a field request), regional
-- statuses lifecycle.yaml does not map, persons past their regime's retention period, values
-- that failed hygiene (one row per record and field: the record key and the reason), values
-- kept on their own record as probable typos (an e-mail one edit from the person's name), records
-- attached to their person too weakly to receive person fields, and each value or link the
-- person records left out (int_governance__dropped_values). A union: each kind of finding is
-- one branch with the same columns.

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

invalid_values as (

    select * from {{ ref('int_governance__invalid_values') }}

),

records as (

    select * from {{ ref('int_governance__records') }}

),

thresholds as (

    select * from {{ source('rules', 'identity_thresholds') }}

),

candidates as (

    select * from {{ ref('int_governance__candidates') }}

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

invalid_field_values as (

    select
        'invalid_value' as finding_type,
        source, object, region,
        record_key || ' ' || field as subject,
        1 as record_count,
        field || ': ' || problem || ' — "'
            || regexp_replace(left(value, 60), '[\x00-\x1f\x7f\x{200b}-\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}]', '?', 'g')
            || case when length(value) > 60 then '…' else '' end
            || '" is never used nor written: fix it in the source' as detail
    from invalid_values

),

suspected_typos as (

    select
        'suspected_typo' as finding_type,
        source, object, region,
        record_key || ' ' || field as subject,
        1 as record_count,
        field || ': ' || suspicion || ' — "' || left(value, 80)
            || '" stays on its record and is never copied to another: check it with the person' as detail
    from candidates
    where suspicion is not null

),

weak_attachments as (

    select
        'weak_attachment' as finding_type,
        records.source, records.object, records.region,
        'person fields not written' as subject,
        count(*) as record_count,
        'attached to their person below thresholds.write_probability ' || any_value(thresholds.write_probability)
            || ' (matching.yaml): they receive the global id and consent only' as detail
    from records
    cross join thresholds
    where records.attach_probability < thresholds.write_probability
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
    union all
    select * from invalid_field_values
    union all
    select * from suspected_typos
    union all
    select * from weak_attachments

),

final as (

    select
        md5(concat_ws('|', finding_type, source, object, region, subject)) as finding_id,
        *
    from unioned

)

select * from final
