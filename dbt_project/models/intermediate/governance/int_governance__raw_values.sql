-- Every non-empty API field value of every Lead, Contact and Prospect as extracted (custom
-- fields included), in long form: the current values write-back compares with, and the
-- regional fields scoring and consent evidence look at.

with

leads as (

    select _record_key as record_key, columns(lambda c: c not like '\_%' escape '\')::varchar
    from {{ source('salesforce', 'leads') }}

),

contacts as (

    select _record_key as record_key, columns(lambda c: c not like '\_%' escape '\')::varchar
    from {{ source('salesforce', 'contacts') }}

),

prospects as (

    select _record_key as record_key, columns(lambda c: c not like '\_%' escape '\')::varchar
    from {{ source('account_engagement', 'prospects') }}

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
