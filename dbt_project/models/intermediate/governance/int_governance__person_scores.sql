{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Core & Flex scoring (lifecycle.yaml → rules.scoring): per person the signals of the fixed
-- catalogue, then every rule whose signal holds adds its points. Core rules count everywhere,
-- flex rules in the person's region. "Recent" is measured from the newest change extracted
-- (governance_as_of), so a rerun over the same data scores the same; last_activity_at is kept so
-- that an incremental build can tell whose signal flips when that date moves.

with

records as (

    select * from {{ ref('int_governance__records') }}
    where {{ for_changed_persons('global_person_id') }}

),

persons as (

    select * from {{ ref('int_governance__persons') }}
    where {{ for_changed_persons('global_person_id') }}

),

raw_values as (

    select * from {{ ref('int_governance__raw_values') }}

),

scoring as (

    select * from {{ source('rules', 'scoring') }}

),

as_of as (

    select {{ governance_as_of() }} as as_of

),

record_signals as (

    select
        global_person_id,
        bool_or(email is not null and not coalesce(is_free_mail, false)) as business_email,
        bool_or(phone_e164 is not null) as has_phone,
        bool_or(mobile_e164 is not null) as has_mobile,
        bool_or(company is not null) as has_company,
        max(last_modified_at) as last_activity_at
    from records
    group by global_person_id

),

signal_values as (

    -- Only the API fields a signal reads: the ones field_present rules name, score and grade.
    -- (present_fields is only ever searched for those names.)
    select raw_values.*
    from raw_values
    where raw_values.api_name in ('score', 'grade')
       or raw_values.api_name in (
           select scoring.api_field from scoring where scoring.signal = 'field_present')

),

api_signals as (

    select
        records.global_person_id,
        list(distinct signal_values.api_name) as present_fields,
        max(try_cast(signal_values.value as double)) filter (
            where records.object = 'Prospect' and signal_values.api_name = 'score') as ae_score,
        list(distinct signal_values.value) filter (
            where records.object = 'Prospect' and signal_values.api_name = 'grade') as ae_grades
    from records
    inner join signal_values on signal_values.record_key = records.record_key
    group by records.global_person_id

),

signals as (

    select
        persons.global_person_id,
        persons.region,
        persons.source_count,
        record_signals.* exclude (global_person_id),
        date_diff('day', record_signals.last_activity_at, as_of.as_of) as days_since_activity,
        coalesce(api_signals.present_fields, []) as present_fields,
        api_signals.ae_score,
        coalesce(api_signals.ae_grades, []) as ae_grades
    from persons
    cross join as_of
    left join record_signals on record_signals.global_person_id = persons.global_person_id
    left join api_signals on api_signals.global_person_id = persons.global_person_id

),

awarded as (

    select
        signals.global_person_id,
        scoring.scope,
        scoring.rule_id,
        scoring.points
    from signals
    inner join scoring on scoring.region in ('*', signals.region)
    where case scoring.signal
        when 'business_email' then signals.business_email
        when 'has_phone' then signals.has_phone
        when 'has_mobile' then signals.has_mobile
        when 'has_company' then signals.has_company
        when 'multi_source' then signals.source_count >= 2
        when 'recent_activity' then signals.days_since_activity <= scoring.threshold
        when 'ae_score_at_least' then signals.ae_score >= scoring.threshold
        when 'ae_grade_in' then list_has_any(signals.ae_grades, scoring.values)
        when 'field_present' then list_contains(signals.present_fields, scoring.api_field)
        else false
    end

),

final as (

    select
        signals.global_person_id,
        coalesce(sum(awarded.points) filter (where awarded.scope = 'core'), 0) as core_score,
        coalesce(sum(awarded.points) filter (where awarded.scope = 'flex'), 0) as flex_score,
        coalesce(sum(awarded.points), 0) as global_score,
        list(awarded.rule_id order by awarded.rule_id) filter (where awarded.rule_id is not null) as scoring_rules,
        signals.last_activity_at
    from signals
    left join awarded on awarded.global_person_id = signals.global_person_id
    group by signals.global_person_id, signals.last_activity_at

)

select * from final
