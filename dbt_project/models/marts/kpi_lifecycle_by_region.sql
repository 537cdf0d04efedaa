-- Lifecycle KPIs by region under the global definitions: per region × global stage the persons
-- at that stage, the persons who reached it (at or beyond it in the funnel, the lowest stage
-- excluded) and the conversion rate from the previous stage.

with

golden as (

    select * from {{ ref('golden_person') }}

),

lifecycle as (

    select * from {{ ref('int_governance__person_lifecycle') }}

),

stages as (

    select * from {{ source('rules', 'lifecycle_stages') }}

),

people as (

    select golden.global_person_id, coalesce(golden.region, 'unknown') as region,
           lifecycle.global_stage_rank, lifecycle.global_score, lifecycle.unmapped_records
    from golden
    left join lifecycle on lifecycle.global_person_id = golden.global_person_id

),

regions as (

    select region, count(*) as persons, avg(global_score) as avg_global_score,
           count(*) filter (where unmapped_records > 0) as persons_with_unmapped_status
    from people
    group by region

),

grid as (

    select regions.*, stages.stage, stages.rank
    from regions cross join stages

),

counted as (

    select
        grid.region,
        grid.stage,
        grid.rank as stage_rank,
        grid.persons,
        grid.avg_global_score,
        grid.persons_with_unmapped_status,
        count(people.global_person_id) filter (where people.global_stage_rank = grid.rank) as persons_at_stage,
        case when grid.rank > (select min(rank) from stages)
             then count(people.global_person_id) filter (where people.global_stage_rank >= grid.rank)
        end as persons_reached
    from grid
    left join people on people.region = grid.region
    group by
        grid.region, grid.stage, grid.rank, grid.persons, grid.avg_global_score,
        grid.persons_with_unmapped_status

),

final as (

    select
        region || ':' || stage as kpi_key,
        region, stage, stage_rank, persons, persons_at_stage, persons_reached,
        round(persons_at_stage / nullif(persons, 0), 4) as share_of_persons,
        round(persons_reached / nullif(lag(persons_reached) over (partition by region order by stage_rank), 0), 4)
            as conversion_from_previous_stage,
        round(avg_global_score, 2) as avg_global_score,
        persons_with_unmapped_status
    from counted

)

select * from final
