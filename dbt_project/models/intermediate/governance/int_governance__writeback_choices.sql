{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Every write-back target field with the best candidate value that target may see (the value
-- columns are null where it may see none). int_governance__writeback_targets and
-- int_governance__writeback_winners are views on this one table: targets and their winners
-- have the same grain, so they are computed and stored once.
--
-- Targets: every writable governed record × every central field the dictionary gives an API
-- name for on its object, that exists in that source, and that no protected_fields rule shields
-- on this target.
--
-- Winners: candidates from another legal entity count only where sharing.yaml lets the field
-- cross, and consent fields only within consent.yaml's propagation scope. Ranked with the same
-- keys as golden_person (survivorship_order), so within what a target may see precedence still
-- rules. That order ends on record_key, so it is a total order within a person's field and
-- person_rank is exactly that order: the best candidate a target may see is the visible one with
-- the lowest person_rank. That is the golden value itself wherever the target may see it, which
-- is nearly always; only the other targets look further down the ranking.
--
-- Performance: rules are matched once per combination of what they depend on (protected roles
-- per source/kind/connected CRM/owning CRM, visibility per field and pair of legal entities),
-- then applied with equi-joins; the join keys are null-safe where the inputs may be null.
-- Incremental per person (macros/incremental_governance.sql); which legal entities exist is
-- shared by everyone and read from all records.

with

records as (

    select * from {{ ref('int_governance__records') }}

),

persons as (

    select * from {{ ref('int_governance__persons') }}
    where {{ for_changed_persons('global_person_id') }}

),

field_dictionary as (

    select * from {{ source('rules', 'field_dictionary') }}

),

protected_fields as (

    select * from {{ source('rules', 'protected_fields') }}

),

source_fields as (

    select * from {{ ref('int_governance__source_fields') }}

),

raw_values as (

    select * from {{ ref('int_governance__raw_values') }}

),

-- Read four times. A full build reads a different slice each time (`not materialized`: DuckDB
-- would store all of it); an incremental one keeps the redone persons' few rows, instead of
-- scanning the 9M-row table four times (at 1M records: 1.5 s to 0.8 s).
candidates as {{ 'materialized' if is_incremental() else 'not materialized' }} (

    select * from {{ ref('int_governance__candidates') }}
    where {{ for_changed_persons('global_person_id', stamped_by='int_governance__candidates') }}

),

consent_channels as (

    select * from {{ source('rules', 'consent_channels') }}

),

writable_fields as (

    -- with the write policy of each (field, object): fill_empty / correct (never is not writable)
    select field, object, api_name, write_policy, normalize_on_write, contact_point, employer_bound, match_form
    from field_dictionary
    where kind = 'central' and writable and api_name is not null

),

target_records as (

    select
        records.record_key as target_record_key,
        records.global_person_id,
        records.source as target_source,
        records.object,
        records.record_id,
        records.kind as target_kind,
        records.legal_entity as target_legal_entity,
        records.connected_crm as target_connected_crm,
        records.attach_probability as target_attach_probability,
        persons.owning_crm
    from records
    inner join persons on persons.global_person_id = records.global_person_id
    where records.is_writable
      and {{ for_changed_persons('records.global_person_id') }}

),

target_profiles as (

    -- What decides which fields a target gets: its object, source, kind, connected CRM and its
    -- person's owning CRM. A few dozen combinations.
    select distinct target_source, object, target_kind, target_connected_crm, owning_crm
    from target_records

),

profile_fields as (

    -- Per combination: the writable fields that exist in the source and that no protected_fields
    -- rule shields on such a target.
    select
        target_profiles.*,
        writable_fields.* exclude (object)
    from target_profiles
    inner join writable_fields on writable_fields.object = target_profiles.object
    inner join source_fields
        on source_fields.source = target_profiles.target_source
        and source_fields.object = target_profiles.object
        and source_fields.api_name = writable_fields.api_name
    where not exists (
        select 1 from protected_fields
        where protected_fields.field = writable_fields.field
          and {{ role_matches('protected_fields.target', 'target_profiles.target_source',
                              'target_profiles.target_kind', 'target_profiles.target_connected_crm',
                              'target_profiles.owning_crm') }}
    )

),

target_fields as (

    select
        target_records.*,
        profile_fields.field,
        profile_fields.api_name,
        profile_fields.write_policy,
        profile_fields.normalize_on_write,
        profile_fields.contact_point,
        profile_fields.employer_bound,
        profile_fields.match_form
    from target_records
    inner join profile_fields
        on profile_fields.object = target_records.object
        and profile_fields.target_source = target_records.target_source
        and profile_fields.target_kind is not distinct from target_records.target_kind
        and profile_fields.target_connected_crm is not distinct from target_records.target_connected_crm
        and profile_fields.owning_crm is not distinct from target_records.owning_crm

),

writable_values as (

    -- The current values the targets hold: half of the raw values are of fields or records the
    -- write-back never touches (and the smaller side of a join is the cheaper one to hash).
    select * from raw_values
    where raw_values.api_name in (select writable_fields.api_name from writable_fields)
      and raw_values.record_key in (select target_records.target_record_key from target_records)

),

targets as (

    select
        target_fields.*,
        writable_values.value as current_api_value
    from target_fields
    left join writable_values
        on writable_values.record_key = target_fields.target_record_key
        and writable_values.api_name = target_fields.api_name

),

legal_entities as (

    select distinct legal_entity from records

),

candidate_fields as (

    select distinct field from candidates

),

visibility as (

    -- Per field, the (value entity → target entity) pairs along which a value may be seen.
    select distinct
        candidate_fields.field,
        value_entity.legal_entity as value_legal_entity,
        target_entity.legal_entity as target_legal_entity
    from candidate_fields
    cross join legal_entities as value_entity
    cross join legal_entities as target_entity
    left join consent_channels on consent_channels.field = candidate_fields.field
    where {{ sharing_allows('candidate_fields.field', 'value_entity.legal_entity', 'target_entity.legal_entity') }}
      and (consent_channels.propagation is distinct from 'legal_entity'
           or value_entity.legal_entity = target_entity.legal_entity)

),

golden_values as (

    select * from candidates where person_rank = 1

),

target_entities as (

    -- The legal entities each person can be written back in.
    select distinct global_person_id, target_legal_entity from target_records

),

hidden_golden as (

    -- Where a person's golden value may not be seen from one of the entities it is written to.
    select golden_values.global_person_id, golden_values.field, target_entities.target_legal_entity
    from golden_values
    inner join target_entities on target_entities.global_person_id = golden_values.global_person_id
    anti join visibility
        on visibility.field = golden_values.field
        and visibility.value_legal_entity is not distinct from golden_values.legal_entity
        and visibility.target_legal_entity is not distinct from target_entities.target_legal_entity

),

fallback_ranks as (

    -- There, the best-ranked candidate that may be seen.
    select
        hidden_golden.global_person_id,
        hidden_golden.field,
        hidden_golden.target_legal_entity,
        min(candidates.person_rank) as person_rank
    from hidden_golden
    inner join candidates
        on candidates.global_person_id = hidden_golden.global_person_id
        and candidates.field = hidden_golden.field
    semi join visibility
        on visibility.field = hidden_golden.field
        and visibility.value_legal_entity is not distinct from candidates.legal_entity
        and visibility.target_legal_entity is not distinct from hidden_golden.target_legal_entity
    group by all

),

fallback_values as (

    select
        fallback_ranks.target_legal_entity,
        candidates.*
    from fallback_ranks
    inner join candidates
        on candidates.global_person_id = fallback_ranks.global_person_id
        and candidates.field = fallback_ranks.field
        and candidates.person_rank = fallback_ranks.person_rank

),

chosen as (

    -- The golden value where the target may see it, else the fallback (null when there is none).
    select
        targets.*,
        {%- for column in ['record_key', 'legal_entity', 'value', 'value_norm', 'last_modified_at', 'strategy',
                           'reason', 'restrictive_rank', 'priority_position', 'value_frequency',
                           'attach_probability', 'copyable', 'form_rank', 'case_rank', 'uncontested'] %}
        case when visibility.field is not null then golden_values.{{ column }} else fallback_values.{{ column }} end
            as {{ 'value_legal_entity' if column == 'legal_entity' else column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from targets
    left join golden_values
        on golden_values.global_person_id = targets.global_person_id
        and golden_values.field = targets.field
    left join visibility
        on visibility.field = targets.field
        and visibility.value_legal_entity is not distinct from golden_values.legal_entity
        and visibility.target_legal_entity is not distinct from targets.target_legal_entity
    left join fallback_values
        on fallback_values.global_person_id = targets.global_person_id
        and fallback_values.field = targets.field
        and fallback_values.target_legal_entity is not distinct from targets.target_legal_entity

),

final as (

    select
        chosen.*,
        consent_channels.channel as consent_channel,
        consent_channels.propagation as consent_propagation
    from chosen
    left join consent_channels on consent_channels.field = chosen.field

)

-- _built_at: which build appended the row (for_changed_persons, macros/incremental_governance.sql).
select *, {{ build_stamp() }} as _built_at from final
