-- The generic survivorship model: every candidate value of every field of every person, with
-- the rule that applies (rules.precedence: region override, else '*') and the sort keys of all
-- strategies. `person_rank` = 1 is the golden value; writeback_plan re-ranks the same keys over
-- what each target may see. No field is special-cased: precedence.yaml decides.

with

field_values as (

    select * from {{ ref('int_governance__field_values') }}

),

persons as (

    select * from {{ ref('int_governance__persons') }}

),

precedence as (

    select * from {{ source('rules', 'precedence') }}

),

precedence_priority as (

    select * from {{ source('rules', 'precedence_priority') }}

),

with_rule as (

    select
        field_values.*,
        persons.owning_crm,
        coalesce(regional.region, everywhere.region) as rule_region,
        coalesce(regional.strategy, everywhere.strategy) as strategy,
        coalesce(regional.ignore_empty, everywhere.ignore_empty) as ignore_empty,
        coalesce(regional.rule_name, everywhere.rule_name) as rule_name
    from field_values
    inner join persons on persons.global_person_id = field_values.global_person_id
    inner join precedence as everywhere
        on everywhere.field = field_values.field and everywhere.region = '*'
    left join precedence as regional
        on regional.field = field_values.field and regional.region = persons.region

),

priority_match as (

    -- The best (lowest) position in the priority list any role of the record matches.
    select
        with_rule.record_key,
        with_rule.field,
        min(precedence_priority.position) as priority_position,
        arg_min(precedence_priority.role, precedence_priority.position) as matched_role
    from with_rule
    inner join precedence_priority
        on precedence_priority.field = with_rule.field
        and precedence_priority.region = with_rule.rule_region
        and {{ role_matches('precedence_priority.role', 'with_rule.source', 'with_rule.kind',
                            'with_rule.connected_crm', 'with_rule.owning_crm') }}
    where with_rule.strategy = 'source_priority'
    group by with_rule.record_key, with_rule.field

),

eligible as (

    select
        with_rule.*,
        priority_match.priority_position,
        priority_match.matched_role
    from with_rule
    left join priority_match
        on priority_match.record_key = with_rule.record_key
        and priority_match.field = with_rule.field
    -- ignore_empty: an empty value never wins. source_priority: unlisted sources never win.
    where (with_rule.value is not null or not with_rule.ignore_empty)
      and (with_rule.strategy <> 'source_priority' or priority_match.priority_position is not null)

),

scored as (

    select
        *,
        case value_norm when 'true' then 0 when 'false' then 1 end as restrictive_rank,
        count(*) over (partition by global_person_id, field, value_norm) as value_frequency,
        count(*) over (partition by global_person_id, field) as candidate_count
    from eligible

),

ranked as (

    select
        *,
        row_number() over (
            partition by global_person_id, field
            order by {{ survivorship_order() }}
        ) as person_rank
    from scored

),

final as (

    select
        global_person_id, field, record_key, source, object, record_id, kind, legal_entity, region,
        value, value_norm, last_modified_at, strategy, rule_name, rule_region, ignore_empty,
        matched_role, priority_position, restrictive_rank, value_frequency, candidate_count,
        person_rank,
        case strategy
            when 'source_priority' then 'source_priority via ' || matched_role
            when 'most_frequent' then 'most_frequent (' || value_frequency || ' of ' || candidate_count || ')'
            when 'most_restrictive' then 'most_restrictive'
            else strategy
        end as reason
    from ranked

)

select * from final
