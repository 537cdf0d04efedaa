-- For every write-back target field: the best candidate value that target may see. Candidates
-- from another legal entity count only where sharing.yaml lets the field cross, and consent
-- fields only within consent.yaml's propagation scope. Ranked with the same keys as
-- golden_person (survivorship_order), so within what a target may see precedence still rules.

with

targets as (

    select * from {{ ref('int_governance__writeback_targets') }}

),

candidates as (

    select * from {{ ref('int_governance__candidates') }}

),

consent_channels as (

    select * from {{ source('rules', 'consent_channels') }}

),

visible as (

    select
        targets.*,
        candidates.record_key,
        candidates.legal_entity as value_legal_entity,
        candidates.value,
        candidates.value_norm,
        candidates.last_modified_at,
        candidates.strategy,
        candidates.reason,
        candidates.restrictive_rank,
        candidates.priority_position,
        candidates.value_frequency,
        consent_channels.channel as consent_channel,
        consent_channels.propagation as consent_propagation
    from targets
    inner join candidates
        on candidates.global_person_id = targets.global_person_id
        and candidates.field = targets.field
    left join consent_channels on consent_channels.field = targets.field
    where {{ sharing_allows('targets.field', 'candidates.legal_entity', 'targets.target_legal_entity') }}
      and (consent_channels.propagation is distinct from 'legal_entity'
           or candidates.legal_entity = targets.target_legal_entity)

),

ranked as (

    select
        *,
        row_number() over (
            partition by target_record_key, field
            order by {{ survivorship_order() }}
        ) as target_rank
    from visible

),

final as (

    select * exclude (target_rank) from ranked where target_rank = 1

)

select * from final
