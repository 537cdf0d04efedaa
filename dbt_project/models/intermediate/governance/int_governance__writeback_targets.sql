-- What the write-back may touch: every writable governed record × every central field the
-- dictionary gives an API name for on its object, that exists in that source, and that no
-- protected_fields rule shields on this target.

with

records as (

    select * from {{ ref('int_governance__records') }}

),

persons as (

    select * from {{ ref('int_governance__persons') }}

),

field_dictionary as (

    select * from {{ source('rules', 'field_dictionary') }}

),

protected_fields as (

    select * from {{ source('rules', 'protected_fields') }}

),

source_fields as (

    select * from {{ ref('int_governance__source_fields') }}

),

raw_values as (

    select * from {{ ref('int_governance__raw_values') }}

),

writable_fields as (

    select field, object, api_name
    from field_dictionary
    where kind = 'central' and writable and api_name is not null

),

target_fields as (

    select
        records.record_key as target_record_key,
        records.global_person_id,
        records.source as target_source,
        records.object,
        records.record_id,
        records.kind as target_kind,
        records.legal_entity as target_legal_entity,
        records.connected_crm as target_connected_crm,
        persons.owning_crm,
        writable_fields.field,
        writable_fields.api_name
    from records
    inner join persons on persons.global_person_id = records.global_person_id
    inner join writable_fields on writable_fields.object = records.object
    inner join source_fields
        on source_fields.source = records.source
        and source_fields.object = records.object
        and source_fields.api_name = writable_fields.api_name
    where records.is_writable

),

final as (

    select
        target_fields.*,
        raw_values.value as current_api_value
    from target_fields
    left join raw_values
        on raw_values.record_key = target_fields.target_record_key
        and raw_values.api_name = target_fields.api_name
    where not exists (
        select 1 from protected_fields
        where protected_fields.field = target_fields.field
          and {{ role_matches('protected_fields.target', 'target_fields.target_source',
                              'target_fields.target_kind', 'target_fields.target_connected_crm',
                              'target_fields.owning_crm') }}
    )

)

select * from final
