{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons(also=stale_grey_zone_pairs()) }}",
) }}

-- What stewards must look at: field disagreements among one person's records after
-- normalisation (winner, losers, rule), consent disagreements, pairs in the grey zone of match
-- probability, and clusters at the size limit. Incremental: disagreements and oversized
-- clusters per person (macros/incremental_governance.sql); grey-zone pairs, which involve two
-- persons, by comparison with int_governance__grey_zone_pairs: only the pairs that appeared,
-- vanished or changed are replaced.

with

candidates as (

    select * from {{ ref('int_governance__candidates') }}
    where {{ for_changed_persons('global_person_id', stamped_by='int_governance__candidates') }}

),

persons as (

    select * from {{ ref('int_governance__persons') }}

),

consent_channels as (

    select * from {{ source('rules', 'consent_channels') }}

),

thresholds as (

    select * from {{ source('rules', 'identity_thresholds') }}

),

contested as (

    -- Candidates of a person's field whose values are not all the same (incl. empty): every
    -- row of a field with two different values has fewer votes than candidates. Cheap to test,
    -- it leaves the search below a fraction of the candidates.
    select * from candidates where value_frequency < candidate_count

),

disagreements as (

    select global_person_id, field
    from contested
    where value_norm is not null
    group by global_person_id, field
    having count(distinct value_norm) > 1

),

field_conflicts as (

    select
        case when consent_channels.field is not null then 'consent_disagreement'
             else 'field_disagreement' end as conflict_type,
        winner.global_person_id,
        winner.field,
        winner.value as winner_value,
        winner.record_key as winner_record_key,
        list(loser.value order by loser.record_key) as loser_values,
        list(loser.record_key order by loser.record_key) as loser_record_keys,
        winner.rule_name || ' → ' || winner.reason as rule,
        null::varchar as record_key_a,
        null::varchar as record_key_b,
        null::double as match_probability,
        null::bigint as cluster_size,
        case when consent_channels.field is not null
                  and max(loser.last_modified_at) > winner.last_modified_at
             then 'an opt-in was modified after the newest opt-out: check for a re-subscription'
        end as detail
    from disagreements
    inner join contested as winner
        on winner.global_person_id = disagreements.global_person_id
        and winner.field = disagreements.field
        and winner.person_rank = 1
    inner join contested as loser
        on loser.global_person_id = disagreements.global_person_id
        and loser.field = disagreements.field
        and loser.value_norm is distinct from winner.value_norm
        and loser.value_norm is not null
    left join consent_channels on consent_channels.field = disagreements.field
    group by
        consent_channels.field, winner.global_person_id, winner.field, winner.value,
        winner.record_key, winner.rule_name, winner.reason, winner.last_modified_at

),

grey_zone as (

    -- Every grey-zone pair on a full build; on an incremental one those not already stored as
    -- they are (the pre-hook removed the rest, macros/incremental_governance.sql).
    select * exclude (conflict_id) from {{ ref('int_governance__grey_zone_pairs') }} as pairs
    {%- if is_incremental() %}
    where not exists (select 1 from {{ this }} as built where built.conflict_id = pairs.conflict_id)
    {%- endif %}

),

oversized as (

    select
        'oversized_cluster' as conflict_type,
        persons.global_person_id,
        null, null, null, null, null,
        'matching: max_cluster_size ' || thresholds.max_cluster_size,
        null, null, null,
        persons.record_count,
        persons.record_count || ' records in ' || persons.source_count || ' sources'
    from persons
    cross join thresholds
    where persons.record_count >= thresholds.max_cluster_size
      and {{ for_changed_persons('persons.global_person_id') }}

),

unioned as (

    select * from field_conflicts
    union all
    select * from grey_zone
    union all
    select * from oversized

),

final as (

    select
        md5(concat_ws('|', conflict_type, global_person_id, field, record_key_a, record_key_b)) as conflict_id,
        *
    from unioned

)

select * from final
