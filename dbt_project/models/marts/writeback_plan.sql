{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Field-level changes to write back (DESIGN contract columns). Only real differences after
-- normalisation; never an empty value over a filled one; never an opt-in over an opt-out; only
-- values the target's legal entity may receive; the global id on every writable CRM record.
-- Incremental per person (macros/incremental_governance.sql).

with

winners as (

    select * from {{ ref('int_governance__writeback_winners') }}
    where {{ for_changed_persons('global_person_id', stamped_by='int_governance__writeback_choices') }}

),

targets as (

    select * from {{ ref('int_governance__writeback_targets') }}
    where {{ for_changed_persons('global_person_id', stamped_by='int_governance__writeback_choices') }}

),

records as (

    select * from {{ ref('int_governance__records') }}
    where {{ for_changed_persons('global_person_id') }}

),

field_values as (

    {%- if is_incremental() %}
    -- the persons to redo: unnested from their records (a filter would not reach through the view)
    {{ field_values_of('records') }}
    {%- else %}
    select * from {{ ref('int_governance__field_values') }}
    {%- endif %}

),

survivorship_changes as (

    select
        winners.target_source,
        winners.object,
        winners.record_id,
        winners.api_name as field,
        winners.current_api_value as current_value,
        winners.value as new_value,
        winners.record_key as value_source,
        case
            when winners.consent_channel is not null then
                'consent.' || winners.consent_channel || ': most_restrictive, opted out in '
                || winners.record_key || ' (last modified '
                || strftime(winners.last_modified_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ')
                || '), propagation ' || winners.consent_propagation
            else 'precedence.' || winners.field || ': ' || winners.reason
        end as rule,
        winners.global_person_id
    from winners
    inner join field_values as current_state
        on current_state.record_key = winners.target_record_key
        and current_state.field = winners.field
    where winners.value is not null
      -- a target that supplies its own winner already holds it (cheap test before the lookup)
      and winners.record_key <> winners.target_record_key
      and winners.value_norm is distinct from current_state.value_norm
      -- consent only ever moves towards the opt-out
      and (winners.consent_channel is null or winners.value_norm = 'true')
      and (winners.strategy <> 'most_restrictive' or winners.value_norm = 'true')

),

other_entities as (

    -- The legal entities the person has records in: the global id links them, so it is written
    -- only where sharing.yaml lets global_person_id cross from each of them.
    select distinct global_person_id, legal_entity from records

),

global_id_changes as (

    select
        targets.target_source,
        targets.object,
        targets.record_id,
        targets.api_name as field,
        targets.current_api_value as current_value,
        targets.global_person_id as new_value,
        targets.target_record_key as value_source,
        'identity.global_person_id' as rule,
        targets.global_person_id
    from targets
    where targets.field = 'global_person_id'
      and targets.current_api_value is distinct from targets.global_person_id
      and not exists (
          select 1 from other_entities
          where other_entities.global_person_id = targets.global_person_id
            and not {{ sharing_allows("'global_person_id'", 'other_entities.legal_entity',
                                      'targets.target_legal_entity') }}
      )

),

final as (

    select * from survivorship_changes
    union all
    select * from global_id_changes

)

select * from final
