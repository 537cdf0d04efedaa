{{ config(materialized='table') }}

-- int_governance__raw_values reads the previous build of this table (previous_build checks it).
-- depends_on: {{ ref('int_governance__raw_values') }}

-- What the last governance build was built from, for the next incremental build
-- (macros/incremental_governance.sql). int_governance__changed_persons is not cleared here but by
-- the on-run-end hook clear_changed_persons, once every model that reads it was built: a build
-- that fails after this model keeps the persons to redo, and the next build redoes them.

with

changed_persons as (

    select * from {{ ref('int_governance__changed_persons') }}

),

final as (

    select
        {{ governance_version() }} as governance_version,
        {{ governance_as_of() }} as as_of,
        (select max(_extracted_at) from {{ source('salesforce', 'leads') }}) as leads_extracted_at,
        (select max(_extracted_at) from {{ source('salesforce', 'contacts') }}) as contacts_extracted_at,
        (select max(_extracted_at) from {{ source('account_engagement', 'prospects') }}) as prospects_extracted_at,
        (select count(*) from changed_persons) as persons_rebuilt,
        current_timestamp as built_at

)

select * from final
