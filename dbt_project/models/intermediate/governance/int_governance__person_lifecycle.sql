{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Global lifecycle stage per person: the highest-ranked stage among their records, promoted to
-- a higher stage whose min_score the person's global_score reaches (lifecycle.yaml). A person
-- whose best record sits in the lowest stage (Disqualified) is not promoted: that is a decision.

with

record_stages as (

    select * from {{ ref('int_governance__record_stages') }}
    where {{ for_changed_persons('global_person_id') }}

),

scores as (

    select * from {{ ref('int_governance__person_scores') }}
    where {{ for_changed_persons('global_person_id') }}

),

stages as (

    select * from {{ source('rules', 'lifecycle_stages') }}

),

record_best as (

    select
        global_person_id,
        max(stage_rank) as record_stage_rank,
        count(*) filter (where not is_mapped) as unmapped_records
    from record_stages
    group by global_person_id

),

promotion as (

    select
        scores.global_person_id,
        max(stages.rank) as promoted_rank
    from scores
    inner join stages on stages.min_score is not null and scores.global_score >= stages.min_score
    inner join record_best on record_best.global_person_id = scores.global_person_id
    where record_best.record_stage_rank > (select min(rank) from stages)
    group by scores.global_person_id

),

final as (

    select
        scores.global_person_id,
        stages.stage as global_lifecycle_stage,
        stages.rank as global_stage_rank,
        greatest(coalesce(promotion.promoted_rank, -1), coalesce(record_best.record_stage_rank, -1))
            > coalesce(record_best.record_stage_rank, -1) as promoted_by_score,
        scores.global_score,
        scores.core_score,
        scores.flex_score,
        scores.scoring_rules,
        coalesce(record_best.unmapped_records, 0) as unmapped_records
    from scores
    left join record_best on record_best.global_person_id = scores.global_person_id
    left join promotion on promotion.global_person_id = scores.global_person_id
    left join stages
        on stages.rank = greatest(coalesce(promotion.promoted_rank, -1), coalesce(record_best.record_stage_rank, -1))

)

select * from final
