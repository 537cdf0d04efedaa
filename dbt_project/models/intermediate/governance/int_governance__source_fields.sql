-- depends_on: {{ source('salesforce', 'leads') }}
-- depends_on: {{ source('salesforce', 'contacts') }}
-- depends_on: {{ source('account_engagement', 'prospects') }}
-- Every column each source's raw table has (raw.<source>__<object>), whether the field
-- dictionary declares it for that object and region, and how many records fill it.

with

raw_columns as (

    select table_name, column_name
    from information_schema.columns
    where table_schema = 'raw' and column_name not like '\_%' escape '\'

),

source_systems as (

    select * from {{ source('systems', 'source_systems') }}

),

field_dictionary as (

    select * from {{ source('rules', 'field_dictionary') }}

),

raw_values as (

    select * from {{ ref('int_governance__raw_values') }}

),

source_columns as (

    select
        source_systems.source,
        source_systems.region,
        case split_part(raw_columns.table_name, '__', 2)
            when 'lead' then 'Lead' when 'contact' then 'Contact' when 'prospect' then 'Prospect'
        end as object,
        raw_columns.column_name as api_name
    from raw_columns
    inner join source_systems
        on raw_columns.table_name = source_systems.source || '__' || split_part(raw_columns.table_name, '__', 2)

),

filled as (

    select
        split_part(record_key, ':', 1) as source,
        split_part(record_key, ':', 2) as object,
        api_name,
        count(*) as filled_records
    from raw_values
    group by all

),

final as (

    select
        source_columns.source,
        source_columns.object,
        source_columns.api_name,
        source_columns.region,
        exists (
            select 1 from field_dictionary
            where field_dictionary.object = source_columns.object
              and field_dictionary.api_name = source_columns.api_name
              and field_dictionary.region in (source_columns.region, '*')
        ) as is_declared,
        coalesce(filled.filled_records, 0) as filled_records
    from source_columns
    left join filled
        on filled.source = source_columns.source
        and filled.object = source_columns.object
        and filled.api_name = source_columns.api_name
    where source_columns.object is not null

)

select * from final
