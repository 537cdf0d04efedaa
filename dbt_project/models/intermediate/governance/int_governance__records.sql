{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- Person records that identity resolution placed under a global person, with their system's
-- kind and connected CRM. Deleted records neither vote nor receive write-backs.
-- last_modified_at is echo-suppressed: our own write-back bumps a record's stamps, which must not
-- make it the `most_recent` (values would flip back and forth run after run). While a record's
-- change stamp is still the one our write produced, it keeps its last-modified time from before.
-- Incremental per person (macros/incremental_governance.sql).

with

records as (

    select * from {{ ref('int_person_records') }}

),

person_map as (

    select * from {{ source('identity', 'global_person_map') }}
    where {{ for_changed_persons('global_person_id') }}

),

source_systems as (

    select * from {{ source('systems', 'source_systems') }}

),

current_stamps as (

    select record_key, {{ to_timestamp('system_modstamp') }} as change_stamp
    from {{ ref('stg_salesforce__leads') }}
    union all
    select record_key, {{ to_timestamp('system_modstamp') }}
    from {{ ref('stg_salesforce__contacts') }}
    union all
    select record_key, updated_at
    from {{ ref('stg_account_engagement__prospects') }}

),

-- The confidence gate must not count the global id our own write-back put on a record:
-- identity links records carrying one written id deterministically (probability 1), which would
-- open the gate one run after a weakly attached record received its id. For the records whose
-- best link may be such a link, the best link of any other kind.
written_id_records as (

    select person_map.record_key, person_map.global_person_id
    from person_map
    inner join records on records.record_key = person_map.record_key
    where person_map.match_probability >= 1 and records.written_global_person_id is not null

),

links_of_written_id_records as (

    select person_links.record_key_a as record_key, person_links.record_key_b as other, person_links.match_probability
    from {{ source('identity', 'person_links') }} as person_links
    where person_links.decision <> 'must_link:written_global_id' and person_links.decision not like 'rejected%'
      and person_links.record_key_a in (select record_key from written_id_records)
    union all
    select person_links.record_key_b, person_links.record_key_a, person_links.match_probability
    from {{ source('identity', 'person_links') }} as person_links
    where person_links.decision <> 'must_link:written_global_id' and person_links.decision not like 'rejected%'
      and person_links.record_key_b in (select record_key from written_id_records)

),

gate_probabilities as (

    select links.record_key, max(links.match_probability) as attach_probability
    from links_of_written_id_records as links
    inner join written_id_records as mine on mine.record_key = links.record_key
    inner join {{ source('identity', 'global_person_map') }} as theirs
        on theirs.record_key = links.other and theirs.global_person_id = mine.global_person_id
    group by links.record_key

),

echo_stamps as (

    select
        source || ':' || object || ':' || record_id as record_key,
        stamp_after_write,
        modified_before_write
    from {{ source('writeback', 'echo_stamps') }}

),

final as (

    select
        records.* replace (
            case when echo_stamps.stamp_after_write = current_stamps.change_stamp
                 then coalesce(echo_stamps.modified_before_write, records.last_modified_at)
                 else records.last_modified_at
            end as last_modified_at
        ),
        person_map.global_person_id,
        -- the record's best link inside its person (1 for a deterministic link, null alone):
        -- the write-back's confidence gate (thresholds.write_probability)
        case when written_id_records.record_key is not null then gate_probabilities.attach_probability
             else person_map.match_probability end as attach_probability,
        source_systems.kind,
        source_systems.connected_crm,
        -- A converted lead is read-only in Salesforce; its contact carries the person on.
        not (records.object = 'Lead' and records.converted_contact_key is not null) as is_writable
    from records
    inner join person_map on person_map.record_key = records.record_key
    left join source_systems on source_systems.source = records.source
    left join current_stamps on current_stamps.record_key = records.record_key
    left join echo_stamps on echo_stamps.record_key = records.record_key
    left join written_id_records on written_id_records.record_key = records.record_key
    left join gate_probabilities on gate_probabilities.record_key = records.record_key
    where not coalesce(records.is_deleted, false)

)

select * from final
