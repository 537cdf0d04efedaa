{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Field-level changes to write back (DESIGN contract columns). A write makes the record more
-- right (DESIGN rule 8):
-- - consent only ever moves towards the opt-out, within consent.yaml's propagation scope;
-- - person fields follow the field's write policy (field_dictionary.yaml): `fill_empty` writes
--   only into an empty field (or one holding a value hygiene refused); `correct` also replaces an invalid value or a worse form of the
--   winning one (case, an initial, the full name in one field, swapped names, a typo within two
--   edits of a form more independent records support). Any other valid difference is left for
--   stewards (identity_conflicts), never written: a contact point is never replaced by another;
-- - a change that is format-only (same normalised value) only where the field opts in
--   (`normalize_on_write`);
-- - only values that passed hygiene (invalid ones never win), never a role mailbox nor a
--   suspected e-mail typo onto another record, never a worse form (an initial), an
--   employer-bound value (work phone, office address, work e-mail) only between
--   records of the same company, and only between records attached to their person at or above
--   thresholds.write_probability (matching.yaml): a weaker attachment gets the global id and
--   consent only (governance_findings: weak_attachment); a contact point only between two
--   records linked directly at or above that threshold (not through a chain);
-- - only values the target's legal entity may receive; the global id on every writable CRM record.
-- Incremental per person (macros/incremental_governance.sql).

-- value hygiene's word lists (read by field_values_of, which an incremental build calls here)
-- depends_on: {{ ref('placeholder_values') }}
-- depends_on: {{ ref('email_domain_typos') }}

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

candidates as (

    select * from {{ ref('int_governance__candidates') }}
    where {{ for_changed_persons('global_person_id', stamped_by='int_governance__candidates') }}

),

thresholds as (

    select * from {{ source('rules', 'identity_thresholds') }}

),

direct_links as (

    -- Pairs identity linked directly (a scored match or a deterministic link) at or above the
    -- write threshold, as stored: a < b.
    select distinct links.record_key_a, links.record_key_b
    from {{ source('identity', 'person_links') }} as links
    cross join thresholds
    where (links.decision = 'accepted' or links.decision like 'must_link%')
      and links.match_probability >= thresholds.write_probability

),

field_values as (

    {%- if is_incremental() %}
    -- the persons to redo: unnested from their records (a filter would not reach through the view)
    {{ field_values_of('records') }}
    {%- else %}
    select * from {{ ref('int_governance__field_values') }}
    {%- endif %}

),

company_fields as (

    -- the employer field: the dictionary's field compared as a company
    select field from {{ source('rules', 'field_dictionary') }} where match_form = 'company'

),

employers as (

    -- each person's winning company (golden company)
    select global_person_id, value_norm as employer_norm
    from candidates
    where person_rank = 1
      and field in (select field from company_fields)

),

record_companies as (

    -- Each record's company as this plan leaves it, narrow (one row per record; joined twice
    -- below, where the 9M-row target × field grid would not fit DuckDB's memory bound at 1M):
    -- a record whose company field is a write target and empty, missing or refused by hygiene
    -- (`n/a`) gets the employer's in this same plan, so it counts as the employer's already.
    select
        records.record_key,
        records.is_free_mail,
        employers.employer_norm,
        case
            when company_target.target_record_key is not null
                 and (records.company_norm is null
                      or nullif(trim(company_target.current_api_value), '') is null
                      or refused.record_key is not null)
            then employers.employer_norm
            else records.company_norm
        end as company_after_plan_norm
    from records
    left join employers on employers.global_person_id = records.global_person_id
    left join targets as company_target
        on company_target.target_record_key = records.record_key
        and company_target.field in (select field from company_fields)
    left join (
        select distinct record_key
        from field_values
        where problem is not null
          and field in (select field from company_fields)
    ) as refused on refused.record_key = records.record_key

),

own_writes as (

    -- Values our write-back wrote that the records still hold (macros/governance/own_writes.sql):
    -- a contact point is not passed on from one of these (it was not copied there the run before)
    {{ own_write_votes('records' if is_incremental() else none) }}

),

differing as (

    -- Each target field with a winner from another record, and what the target holds now.
    select
        winners.*,
        nullif(trim(winners.current_api_value), '') is null as target_is_empty,
        current_state.value_norm as current_norm,
        current_state.problem as current_problem,
        current_state.form_rank as current_form_rank,
        current_state.case_rank as current_case_rank,
        winners.consent_channel is not null or winners.strategy = 'most_restrictive' as is_consent
    from winners
    inner join field_values as current_state
        on current_state.record_key = winners.target_record_key
        and current_state.field = winners.field
    where winners.value is not null
      -- a target that supplies its own winner already holds it (cheap test before the lookup)
      and winners.record_key <> winners.target_record_key

),

consent_changes as (

    -- consent only ever moves towards the opt-out
    select * from differing
    where is_consent
      and value_norm is distinct from current_norm
      and value_norm = 'true'

),

person_field_candidates as (

    select differing.*
    from differing
    cross join thresholds
    left join record_companies as value_record on value_record.record_key = differing.record_key
    left join record_companies as target_record on target_record.record_key = differing.target_record_key
    left join direct_links
        on differing.contact_point
        and direct_links.record_key_a = least(differing.record_key, differing.target_record_key)
        and direct_links.record_key_b = greatest(differing.record_key, differing.target_record_key)
    left join own_writes as value_own_write
        on differing.contact_point
        and value_own_write.record_key = differing.record_key
        and value_own_write.field = differing.field
    where not differing.is_consent
      and differing.copyable
      and differing.target_attach_probability >= thresholds.write_probability
      and differing.attach_probability >= thresholds.write_probability
      -- a contact point (e-mail, phone, mobile) decides where mail and calls go: it is copied only
      -- from a record that holds it of its own (not by our earlier write) to one identity linked
      -- to it directly at or above the write threshold, never through a chain of third records
      -- (where a colleague or relative joins a cluster)
      and (not differing.contact_point
           or (direct_links.record_key_a is not null and value_own_write.record_key is null))
      -- a worse form (an initial, the full name in one field) is never written: the winner is
      -- one only where the person has no clean form, and "J." says less than the field's owner knows
      and differing.form_rank = 0
      -- a single-valued field (write policy correct: names) is written only when its winning form
      -- beats every other clean form; two spellings equally supported are for stewards
      and (differing.write_policy <> 'correct' or differing.uncontested)
      -- an employer's phone, address or work e-mail only between records of the person's current
      -- employer (golden company): a job change leaves the old one's values behind
      and (not differing.employer_bound
           or (differing.match_form = 'email' and value_record.is_free_mail)
           -- (a record whose own company field this plan fills counts as the employer's)
           or (value_record.company_after_plan_norm = value_record.employer_norm
               and target_record.company_after_plan_norm = target_record.employer_norm))
),

person_field_changes as (

    select change.*
    from person_field_candidates as change
    left join candidates as own
        on own.record_key = change.target_record_key
        and own.field = change.field
    -- the person's winning other name (given ↔ family), to recognise a full name in one field
    left join candidates as other_name
        on other_name.global_person_id = change.global_person_id
        and other_name.person_rank = 1
        and other_name.field = case change.field when 'given_name' then 'family_name'
                                                 when 'family_name' then 'given_name' end
    where change.target_is_empty
       -- a value hygiene refused (a placeholder, markup, a misspelled provider domain, formula
       -- text) is no value: fill_empty fills it. Not a phone libphonenumber calls invalid: it may
       -- be a real number the library's metadata does not know yet.
       or (change.write_policy = 'fill_empty' and change.current_problem is not null
           and change.match_form <> 'phone')
       or (change.write_policy = 'correct' and (
              change.current_problem is not null
              or (change.current_norm = change.value_norm
                  and (change.current_case_rank > change.case_rank or change.current_form_rank > change.form_rank))
              or (change.current_norm <> change.value_norm and (
                     -- an initial of the winning name
                     (length(change.current_norm) = 1 and starts_with(change.value_norm, change.current_norm))
                     -- the full name in one field, the winning name inside it
                     or (change.current_form_rank > 0 and contains(change.current_norm, change.value_norm))
                     -- or the person's winning other name beside it, whatever the record's own
                     -- other name field holds (empty until this plan fills it, then a worse form:
                     -- so the test is the one above, or the next run would write what this one
                     -- left, "Celso Baeza-Zapata" → "Baeza" once FirstName holds "Celso")
                     or ((starts_with(change.current_norm, other_name.value_norm || ' ')
                          or ends_with(change.current_norm, ' ' || other_name.value_norm))
                         and contains(change.current_norm, change.value_norm))
                     or change.current_norm in (other_name.value_norm || ' ' || change.value_norm,
                                                change.value_norm || ' ' || other_name.value_norm)
                     -- a typo of a form more independent records support
                     or (change.value_frequency >= 2 and coalesce(own.value_frequency, 1) < change.value_frequency
                         and damerau_levenshtein(change.current_norm, change.value_norm)
                             <= case when length(change.value_norm) >= 8 then 2 else 1 end)
                     -- swapped given / family names, the other order better supported
                     or (own.form_rank > 0 and own.value_frequency < change.value_frequency)))))
       -- format only: where the field opts in
       or (change.normalize_on_write and change.current_norm = change.value_norm
           and trim(change.current_api_value) is distinct from change.value)

),

survivorship_changes as (

    select
        target_source,
        object,
        record_id,
        api_name as field,
        current_api_value as current_value,
        value as new_value,
        record_key as value_source,
        case
            when consent_channel is not null then
                'consent.' || consent_channel || ': most_restrictive, opted out in '
                || record_key || ' (last modified '
                || strftime(last_modified_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ')
                || '), propagation ' || consent_propagation
            else 'precedence.' || field || ': ' || reason || '; write ' || write_policy
                 || case when target_is_empty then ' (empty)' else ' (' || coalesce(current_problem, 'worse form') || ')' end
        end as rule,
        global_person_id
    from (
        select * from consent_changes
        union all
        select * from person_field_changes
    )

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
