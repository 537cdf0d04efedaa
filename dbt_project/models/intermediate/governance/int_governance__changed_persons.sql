{{ config(materialized='incremental', incremental_strategy='append') }}

-- depends_on: {{ source('writeback', 'echo_stamps') }}
-- depends_on: {{ source('rules', 'scoring') }}
-- depends_on: {{ source('rules', 'rule_files') }}
-- depends_on: {{ source('rules', 'identity_thresholds') }}
-- depends_on: {{ source('systems', 'source_systems') }}
-- depends_on: {{ ref('country_aliases') }}
-- depends_on: {{ ref('company_legal_suffixes') }}
-- depends_on: {{ ref('free_mail_domains') }}
-- depends_on: {{ ref('role_mailbox_local_parts') }}
-- depends_on: {{ ref('placeholder_values') }}
-- depends_on: {{ ref('salutation_sex') }}

-- The global persons an incremental governance build redoes (macros/incremental_governance.sql):
-- appended here, cleared by int_governance__build_state when the build completes. Compared with
-- what the previous build governed: a record that changed (its raw row or account), moved to
-- another person, appeared or vanished marks its old and its new person; so does a write-back
-- echo recorded since; and a person whose recent-activity signal flips between the previous and
-- the current as-of date. Everyone when a shared input changed, or on a first or full build.

{%- set state = previous_build('int_governance__build_state') if execute else none %}
{%- set governed = previous_build('int_governance__records') if execute else none %}
{%- set scores = previous_build('int_governance__person_scores') if execute else none %}
{%- set compare = is_incremental() and state is not none and governed is not none and scores is not none %}

with

person_records as (

    select * from {{ ref('int_person_records') }}

),

person_map as (

    select * from {{ source('identity', 'global_person_map') }}

),

current_records as (

    select person_records.record_key, person_map.global_person_id, person_records.source_extracted_at
    from person_records
    inner join person_map on person_map.record_key = person_records.record_key
    where not coalesce(person_records.is_deleted, false)

),

{% if compare %}

build_state as (

    select * from {{ state }}

),

previous_records as (

    select record_key, global_person_id, source_extracted_at from {{ governed }}

),

previous_scores as (

    select global_person_id, last_activity_at from {{ scores }}

),

echo_stamps as (

    select source || ':' || object || ':' || record_id as record_key
    from {{ source('writeback', 'echo_stamps') }}
    where "at" >= (select built_at from build_state)

),

scoring as (

    select * from {{ source('rules', 'scoring') }}

),

changed_records as (

    select
        previous_records.global_person_id as previous_id,
        current_records.global_person_id as current_id
    from previous_records
    full outer join current_records on current_records.record_key = previous_records.record_key
    where previous_records.global_person_id is distinct from current_records.global_person_id
       or previous_records.source_extracted_at is distinct from current_records.source_extracted_at

),

echoed as (

    select global_person_id from previous_records
    where record_key in (select record_key from echo_stamps)
    union all
    select global_person_id from current_records
    where record_key in (select record_key from echo_stamps)

),

activity_flipped as (

    select previous_scores.global_person_id
    from previous_scores
    cross join build_state
    inner join scoring on scoring.signal = 'recent_activity'
    where (date_diff('day', previous_scores.last_activity_at, build_state.as_of) <= scoring.threshold)
        is distinct from
          (date_diff('day', previous_scores.last_activity_at, {{ governance_as_of() }}) <= scoring.threshold)

),

version_changed as (

    -- One row, so the fingerprint is computed once (as a filter on `everyone` DuckDB
    -- re-evaluated it per row: 40 s at 1M records).
    select (select governance_version from build_state) is distinct from {{ governance_version() }} as changed

),

everyone as (

    select global_person_id from previous_records
    union all
    select global_person_id from current_records

),

changed as (

    select previous_id as global_person_id from changed_records
    union all
    select current_id from changed_records
    union all
    select global_person_id from echoed
    union all
    select global_person_id from activity_flipped
    union all
    select everyone.global_person_id from everyone
    inner join version_changed on version_changed.changed

),

{% else %}

changed as (

    select global_person_id from current_records

),

{% endif %}

final as (

    select distinct global_person_id
    from changed
    where global_person_id is not null

)

select * from final
