{{ config(
    materialized='table',
    post_hook="delete from {{ ref('int_governance__changed_persons') }}",
) }}

-- depends_on: {{ ref('golden_person') }}
-- depends_on: {{ ref('identity_conflicts') }}
-- depends_on: {{ ref('writeback_plan') }}
-- depends_on: {{ ref('governance_findings') }}
-- depends_on: {{ ref('kpi_lifecycle_by_region') }}
-- What the last completed governance build was built from, for the next incremental build
-- (macros/incremental_governance.sql). Built last: its post-hook clears the persons to redo.

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
