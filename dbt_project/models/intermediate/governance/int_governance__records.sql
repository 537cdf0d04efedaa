-- Person records that identity resolution placed under a global person, with their system's
-- kind and connected CRM. Deleted records neither vote nor receive write-backs.

with

records as (

    select * from {{ ref('int_person_records') }}

),

person_map as (

    select * from {{ source('identity', 'global_person_map') }}

),

source_systems as (

    select * from {{ source('systems', 'source_systems') }}

),

final as (

    select
        records.*,
        person_map.global_person_id,
        source_systems.kind,
        source_systems.connected_crm,
        -- A converted lead is read-only in Salesforce; its contact carries the person on.
        not (records.object = 'Lead' and records.converted_contact_key is not null) as is_writable
    from records
    inner join person_map on person_map.record_key = records.record_key
    left join source_systems on source_systems.source = records.source
    where not coalesce(records.is_deleted, false)

)

select * from final
