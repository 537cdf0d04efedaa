{{ config(
    materialized='incremental',
    unique_key='record_key',
    incremental_strategy='delete+insert',
    post_hook="delete from {{ this }} where record_key in (
        select record_key from {{ this }} anti join {{ ref('int_person_records') }} using (record_key))",
) }}

-- Every non-empty API field value of every Lead, Contact and Prospect as extracted (custom
-- fields included), in long form: the current values write-back compares with, and the
-- regional fields scoring and consent evidence look at. Incremental: the records extracted
-- since the last completed build (int_governance__build_state) are redone; records that left
-- the source are deleted by the post-hook.

{%- set state = previous_build('int_governance__build_state') if execute and is_incremental() else none %}

with

leads as (

    select _record_key as record_key, columns(lambda c: c not like '\_%' escape '\')::varchar
    from {{ source('salesforce', 'leads') }}
    {%- if state is not none %}
    where _extracted_at > coalesce((select leads_extracted_at from {{ state }}), '-infinity'::timestamptz)
    {%- endif %}

),

contacts as (

    select _record_key as record_key, columns(lambda c: c not like '\_%' escape '\')::varchar
    from {{ source('salesforce', 'contacts') }}
    {%- if state is not none %}
    where _extracted_at > coalesce((select contacts_extracted_at from {{ state }}), '-infinity'::timestamptz)
    {%- endif %}

),

prospects as (

    select _record_key as record_key, columns(lambda c: c not like '\_%' escape '\')::varchar
    from {{ source('account_engagement', 'prospects') }}
    {%- if state is not none %}
    where _extracted_at > coalesce((select prospects_extracted_at from {{ state }}), '-infinity'::timestamptz)
    {%- endif %}

),

lead_values as (

    unpivot leads on columns(* exclude (record_key)) into name api_name value value

),

contact_values as (

    unpivot contacts on columns(* exclude (record_key)) into name api_name value value

),

prospect_values as (

    unpivot prospects on columns(* exclude (record_key)) into name api_name value value

),

final as (

    select record_key, api_name, value from lead_values where trim(value) <> ''
    union all
    select record_key, api_name, value from contact_values where trim(value) <> ''
    union all
    select record_key, api_name, value from prospect_values where trim(value) <> ''

)

select * from final
