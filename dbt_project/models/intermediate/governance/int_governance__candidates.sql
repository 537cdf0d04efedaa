{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- The generic survivorship model: every valid candidate value of every field of every person,
-- with the rule that applies (rules.precedence: region override, else '*') and the sort keys of
-- all strategies (survivorship_order). `person_rank` = 1 is the golden value; writeback_plan
-- re-ranks the same keys over what each target may see. No field is special-cased:
-- precedence.yaml decides. Invalid values (value hygiene, macros/governance/value_hygiene.sql)
-- never compete: int_governance__invalid_values reports them.
--
-- Performance (millions of values): every step until the ranking streams. The rules and the
-- priority lists are small, so they are joined on equality keys: the position of each role a
-- record plays (role_position) instead of matching roles value by value. Value frequencies are
-- counted with a narrow aggregate, and one window yields both person_rank and candidate_count.
-- Incremental per person (macros/incremental_governance.sql).
-- depends_on: {{ ref('int_governance__records') }}

-- value hygiene's word lists (read by field_values_of, which an incremental build calls here)
-- depends_on: {{ ref('placeholder_values') }}
-- depends_on: {{ ref('email_domain_typos') }}

with

{%- if is_incremental() %}
changed_records as (

    select * from {{ ref('int_governance__records') }}
    where {{ for_changed_persons('global_person_id') }}

),
{%- endif %}

-- `not materialized`: the steps up to `eligible` are read three times (forms, votes, ranking), and streaming
-- millions of wide rows twice is cheaper than storing them once (DuckDB would by default).
field_values as not materialized (

    {%- if is_incremental() %}
    -- the persons to redo: unnested from their records (a filter would not reach through the view)
    {{ field_values_of('changed_records') }}
    {%- else %}
    select * from {{ ref('int_governance__field_values') }}
    {%- endif %}

),

persons as (

    select * from {{ ref('int_governance__persons') }}
    where {{ for_changed_persons('global_person_id') }}

),

precedence as (

    select * from {{ source('rules', 'precedence') }}

),

precedence_priority as (

    select * from {{ source('rules', 'precedence_priority') }}

),

role_positions as (

    -- The best position of each role in each priority list (a role may be listed twice).
    select field, region, role, min(position) as position
    from precedence_priority
    group by field, region, role

),

generic_role_positions as (

    -- The same, one row per priority list, for the roles that are not a source's name.
    select
        field,
        region,
        {%- for role in generic_roles() %}
        min(position) filter (where role = '{{ role }}') as {{ role }}_position{{ ',' if not loop.last }}
        {%- endfor %}
    from role_positions
    group by field, region

),

with_rule as not materialized (

    select
        field_values.*,
        persons.owning_crm,
        coalesce(regional.region, everywhere.region) as rule_region,
        coalesce(regional.strategy, everywhere.strategy) as strategy,
        coalesce(regional.ignore_empty, everywhere.ignore_empty) as ignore_empty,
        coalesce(regional.authoritative, everywhere.authoritative, false) as authoritative,
        coalesce(regional.rule_name, everywhere.rule_name) as rule_name
    from field_values
    inner join persons on persons.global_person_id = field_values.global_person_id
    inner join precedence as everywhere
        on everywhere.field = field_values.field and everywhere.region = '*'
    left join precedence as regional
        on regional.field = field_values.field and regional.region = persons.region

),

with_priority as not materialized (

    -- The best (lowest) position in the priority list any role of the record matches.
    select
        with_rule.*,
        generic_role_positions.* exclude (field, region),
        source_role.position as source_role_position,
        case when with_rule.strategy = 'source_priority' then
            {{ role_position('with_rule', 'generic_role_positions', 'source_role') }}
        end as priority_position
    from with_rule
    left join generic_role_positions
        on generic_role_positions.field = with_rule.field
        and generic_role_positions.region = with_rule.rule_region
    left join role_positions as source_role
        on source_role.field = with_rule.field
        and source_role.region = with_rule.rule_region
        and source_role.role = with_rule.source

),

eligible as not materialized (

    select
        global_person_id, field, record_key, source, object, record_id, kind, legal_entity, region,
        value, value_norm, last_modified_at, strategy, rule_name, rule_region, ignore_empty,
        authoritative, coalesce(lineage_key, record_key) as lineage_key, attach_probability,
        coalesce(copyable, true) as copyable, coalesce(case_rank, 0) as case_rank,
        -- a role mailbox is a worse form: it stays on its own record, never copied
        greatest(coalesce(form_rank, 0), case when coalesce(copyable, true) then 0 else 1 end) as value_form_rank,
        -- the role at that position (positions are unique within a priority list)
        case priority_position
            when source_role_position then source
            {%- for role in generic_roles() %}
            when {{ role }}_position then '{{ role }}'
            {%- endfor %}
        end as matched_role,
        priority_position,
        case value_norm when 'true' then 0 when 'false' then 1 end as restrictive_rank
    from with_priority
    -- ignore_empty: an empty value never wins. source_priority: unlisted sources never win.
    where (value is not null or not ignore_empty)
      and (strategy <> 'source_priority' or priority_position is not null)
      and problem is null

),

own_write_votes as (

    -- Our own writes are not evidence: where a record still holds the value our write-back
    -- wrote, it votes for what it held before (macros/governance/own_writes.sql).
    {{ own_write_votes('changed_records' if is_incremental() else none) }}

),

votes as (

    -- Who supports which form: every candidate's record, or its pre-write value where the
    -- candidate is our own write (an empty one votes only where empty values compete).
    select eligible.global_person_id, eligible.field, eligible.lineage_key,
           case when own.record_key is null then eligible.value_norm else own.value_norm end as value_norm
    from eligible
    left join own_write_votes as own
        on own.record_key = eligible.record_key and own.field = eligible.field
    where own.record_key is null or own.value_norm is not null or not eligible.ignore_empty

),

support as (

    select
        global_person_id as support_person, field as support_field, value_norm as support_norm,
        count(distinct lineage_key) as support_frequency
    from votes
    group by global_person_id, field, value_norm

),

value_votes as (

    -- Per form (value after normalisation): how many independent records support it, its best
    -- role position, its most recent record, its best structural form.
    select
        global_person_id, field, value_norm,
        coalesce(max(support.support_frequency), 0) as value_frequency,
        min(priority_position) as form_priority,
        max(last_modified_at) as form_latest,
        min(value_form_rank) as form_rank,
        -- two spellings of the form (an e-mail's separators, a name with and without umlauts),
        -- for email_name_typos
        min(value) filter (where field in ('email', 'given_name', 'family_name')) as form_value,
        max(value) filter (where field in ('given_name', 'family_name')) as form_value_other
    from eligible
    left join support
        on support.support_person = eligible.global_person_id
        and support.support_field = eligible.field
        and support.support_norm is not distinct from eligible.value_norm
    group by global_person_id, field, value_norm

),

email_name_typos as (

    -- A probable typo in an address only one record holds, judged against the person's names
    -- (macros/governance/email_name_typos.sql): valid on its own record, never copied to another.
    {{ email_name_typos('value_votes') }}

),

name_order_margin as (

    select max(name_order_margin) as margin from precedence

),

order_votes as (

    -- Each name form that the person's other name field also carries (given and family name
    -- written in both orders), with the support of each order.
    select
        this.global_person_id, this.field, this.value_norm,
        other.value_frequency - this.value_frequency as other_order_lead
    from value_votes as this
    inner join value_votes as other
        on other.global_person_id = this.global_person_id
        and other.value_norm = this.value_norm
        and ((this.field = 'given_name' and other.field = 'family_name')
             or (this.field = 'family_name' and other.field = 'given_name'))

),

swapped_forms as (

    -- A name form that the person's other name field carries with more support, by at least
    -- precedence.yaml's name_order_margin: given and family name swapped on this record
    -- ("Murakami Kaori" beside "Kaori Murakami" on two more records). Within the margin the order
    -- is unknown (family-first names are written both ways on real data): neither order is a
    -- worse form, so `correct` changes neither and the disagreement goes to stewards.
    select order_votes.global_person_id, order_votes.field, order_votes.value_norm
    from order_votes
    cross join name_order_margin
    where order_votes.other_order_lead >= name_order_margin.margin
    union
    -- The full name in one field: a family form that is a given form of the person plus
    -- another word, or the other way round ("Judith Ward" beside "Judith"), whatever the record's
    -- own other field holds (it may be empty until the write-back fills it).
    select this.global_person_id, this.field, this.value_norm
    from value_votes as this
    inner join value_votes as other
        on other.global_person_id = this.global_person_id
        and ((this.field = 'given_name' and other.field = 'family_name')
             or (this.field = 'family_name' and other.field = 'given_name'))
    where starts_with(this.value_norm, other.value_norm || ' ')
       or ends_with(this.value_norm, ' ' || other.value_norm)

),

contest as (

    -- Per person and field, the support of the best and second-best clean forms: a winner that
    -- does not beat every other clean form is contested (two spellings, equally supported).
    select
        global_person_id, field,
        max(value_frequency) as top_support,
        count(*) filter (where value_frequency = top_support_window) as top_forms
    from (
        select
            value_votes.*,
            max(value_votes.value_frequency) over (partition by value_votes.global_person_id, value_votes.field)
                as top_support_window
        from value_votes
        anti join swapped_forms
            on swapped_forms.global_person_id = value_votes.global_person_id
            and swapped_forms.field = value_votes.field
            and swapped_forms.value_norm = value_votes.value_norm
        where value_votes.form_rank = 0
    ) as clean_forms
    group by global_person_id, field

),

scored as (

    select
        eligible.* exclude (copyable),
        eligible.copyable and email_name_typos.suspicion is null as copyable,
        email_name_typos.suspicion,
        value_votes.value_frequency,
        value_votes.form_priority,
        value_votes.form_latest,
        greatest(value_votes.form_rank,
                 case when swapped_forms.field is not null or email_name_typos.suspicion is not null then 1 else 0 end)
            as form_rank,
        -- the form beats every other clean form of the field (or is the only one)
        coalesce(contest.top_forms = 1 and value_votes.value_frequency = contest.top_support, true)
            as uncontested,
        -- the record holds this value by our own earlier write: within its form it supplies the
        -- value last, so the record that supplied it the run before still does
        own.record_key is not null as holds_own_write
    from eligible
    left join own_write_votes as own
        on own.record_key = eligible.record_key
        and own.field = eligible.field
    inner join value_votes
        on value_votes.global_person_id = eligible.global_person_id
        and value_votes.field = eligible.field
        and value_votes.value_norm is not distinct from eligible.value_norm
    left join swapped_forms
        on swapped_forms.global_person_id = eligible.global_person_id
        and swapped_forms.field = eligible.field
        and swapped_forms.value_norm = eligible.value_norm
    left join contest
        on contest.global_person_id = eligible.global_person_id
        and contest.field = eligible.field
    left join email_name_typos
        on email_name_typos.global_person_id = eligible.global_person_id
        and eligible.field = 'email'
        and email_name_typos.value_norm = eligible.value_norm

),

ranked as (

    -- One sort serves both: candidate_count counts the whole (identically ordered) partition.
    select
        *,
        row_number() over by_survivorship as person_rank,
        count(*) over (
            by_survivorship rows between unbounded preceding and unbounded following
        ) as candidate_count
    from scored
    window by_survivorship as (
        partition by global_person_id, field
        order by {{ survivorship_order() }}
    )

),

final as (

    select
        global_person_id, field, record_key, source, object, record_id, kind, legal_entity, region,
        value, value_norm, last_modified_at, strategy, rule_name, rule_region, ignore_empty,
        matched_role, priority_position, restrictive_rank, value_frequency, candidate_count,
        person_rank, authoritative, lineage_key, attach_probability, copyable, form_rank, case_rank,
        form_priority, form_latest, uncontested, suspicion, holds_own_write,
        case strategy
            when 'most_restrictive' then 'most_restrictive'
            else 'supported by ' || value_frequency || ' independent of ' || candidate_count || ' records'
                 || case strategy
                        when 'source_priority' then ', source_priority via ' || matched_role
                        when 'most_recent' then ', most_recent'
                        else ''
                    end
        end as reason
    from ranked

)

-- _built_at: which build appended the row (for_changed_persons, macros/incremental_governance.sql).
select *, {{ build_stamp() }} as _built_at from final
