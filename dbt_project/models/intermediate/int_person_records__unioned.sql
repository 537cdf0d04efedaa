{{ config(
    materialized='incremental',
    unique_key='record_key',
    incremental_strategy='delete+insert',
    post_hook="delete from {{ this }} as built where not exists (
        select 1 from {{ ref('stg_salesforce__leads') }} as r where r.record_key = built.record_key
        union all select 1 from {{ ref('stg_salesforce__contacts') }} as r where r.record_key = built.record_key
        union all select 1 from {{ ref('stg_account_engagement__prospects') }} as r
                  where r.record_key = built.record_key)",
) }}
-- depends_on: {{ ref('company_legal_suffixes') }}
-- depends_on: {{ ref('free_mail_domains') }}
-- depends_on: {{ ref('role_mailbox_local_parts') }}
-- depends_on: {{ ref('salutation_sex') }}

-- Leads, Contacts and Prospects in one shape, before phone numbers are parsed (int_phone_numbers).
-- Incremental: only records (or their accounts) changed since the last build are redone; see
-- macros/incremental.sql.

with

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

prospects as (

    select * from {{ ref('stg_account_engagement__prospects') }}

),

source_systems as (

    select * from {{ source('systems', 'source_systems') }}

),

lead_records as (

    select
        record_key, source, 'Lead' as object, lead_id as record_id, salutation,
        first_name as given_name, last_name as family_name, email, phone, mobile_phone,
        company, source || ':Account:' || converted_account_id as account_record_key,
        street, city, postal_code, state, null::date as birthdate, country, status,
        has_opted_out_of_email as email_opt_out, do_not_call as phone_opt_out,
        case when is_converted and converted_contact_id is not null
             then source || ':Contact:' || converted_contact_id end as converted_contact_key,
        null as crm_lead_key, null as crm_contact_key,
        global_person_id as written_global_person_id, brand,
        created_at, last_modified_at, is_deleted, extracted_at
    from leads

),

contact_records as (

    select
        record_key, source, 'Contact' as object, contact_id as record_id, salutation,
        first_name, last_name, email, phone, mobile_phone,
        null as company, source || ':Account:' || account_id,
        street, city, postal_code, state, birthdate, country, null as status,
        has_opted_out_of_email, do_not_call,
        null, null, null,
        global_person_id, brand,
        created_at, last_modified_at, is_deleted, extracted_at
    from contacts

),

prospect_records as (

    select
        prospects.record_key, prospects.source, 'Prospect' as object, prospect_id as record_id,
        salutation, first_name, last_name, email, phone, null as mobile_phone,
        company, source_systems.connected_crm || ':Account:' || salesforce_account_id,
        null as street, city, null as postal_code, null as state, null::date, country, null as status,
        coalesce(opted_out, false) or coalesce(is_do_not_email, false), null::boolean,
        null,
        source_systems.connected_crm || ':Lead:' || salesforce_lead_id,
        source_systems.connected_crm || ':Contact:' || salesforce_contact_id,
        null, null as brand,
        created_at, updated_at, is_deleted, prospects.extracted_at
    from prospects
    left join source_systems on source_systems.source = prospects.source

),

unioned as (

    select * from lead_records
    union all
    select * from contact_records
    union all
    select * from prospect_records

),

accounts as (

    select record_key, account_name, extracted_at from {{ ref('stg_salesforce__accounts') }}

),

reference as (

    select {{ reference_version() }} as reference_version

),

{% if is_incremental() -%}
last_build as (

    select
        coalesce(max(source_extracted_at), '-infinity'::timestamptz) as extracted_up_to,
        max(reference_version) as reference_version
    from {{ this }}

),

changed_accounts as (

    select accounts.record_key
    from accounts
    cross join last_build
    where accounts.extracted_at > last_build.extracted_up_to

),

{% endif -%}
to_build as (

    -- A record is redone when it or its account changed since the last build (its
    -- source_extracted_at below is the later of the two), or the reference data changed.
    -- Filtered before the joins below, so an incremental build reads only those records.
    select unioned.*
    from unioned
    {%- if is_incremental() %}
    cross join reference
    cross join last_build
    where unioned.extracted_at > last_build.extracted_up_to
       or unioned.account_record_key in (select record_key from changed_accounts)
       or reference.reference_version is distinct from last_build.reference_version
    {%- endif %}

),

country_aliases as (

    select * from {{ ref('country_aliases') }}

),

birthdate_placeholders as (

    select trim(value) as value from {{ ref('placeholder_values') }} where kind = 'birthdate'

),

company_placeholders as (

    -- what users type into a mandatory company field ("Individual Contacts", "n/a", "self
    -- employed"; kinds any and company, as value hygiene reads them): no employer to match on
    select lower(trim(value)) as value from {{ ref('placeholder_values') }} where kind in ('any', 'company')

),

salutation_sex as (

    select * from {{ ref('salutation_sex') }}

),

with_context as (

    select
        unioned.*,
        greatest(unioned.extracted_at, accounts.extracted_at) as source_extracted_at,
        reference.reference_version,
        source_systems.legal_entity,
        source_systems.region,
        -- A single-brand org implies its brand; multi-brand orgs say it per record.
        coalesce(unioned.brand, case when len(source_systems.brands) = 1 then source_systems.brands[1] end)
            as brand_resolved,
        coalesce(unioned.company, accounts.account_name) as company_resolved,
        coalesce(
            case when upper(trim(unioned.country)) in (select country_code from country_aliases)
                 then upper(trim(unioned.country)) end,
            country_aliases.country_code
        ) as country_code,
        -- A birthdate that cannot be the person's: a default legacy imports and date pickers
        -- leave (seed placeholder_values, kind birthdate), before 1900, or not before the day the
        -- record was created (a future date, the creation date itself). Missing for identity and
        -- survivorship; governance reports it with the date as typed (birthdate_raw).
        case
            when unioned.birthdate is null then null
            when strftime(unioned.birthdate, '%Y-%m-%d') in (select value from birthdate_placeholders)
                then 'placeholder'
            when unioned.birthdate < date '1900-01-01' then 'before 1900'
            when unioned.birthdate >= coalesce(unioned.created_at::date, current_date)
                then 'not before the record was created'
        end as birthdate_problem,
        -- m / f where the salutation names a sex (Mr., Frau, Mme); Dr., Mx. or blank: null
        salutation_sex.sex as salutation_sex
    from to_build as unioned
    cross join reference
    left join source_systems on source_systems.source = unioned.source
    left join accounts on accounts.record_key = unioned.account_record_key
    left join country_aliases on country_aliases.alias = {{ lookup_key('unioned.country') }}
    left join salutation_sex on salutation_sex.salutation = {{ lookup_key('unioned.salutation') }}

),

final as (

    select
        record_key, source, object, record_id, legal_entity, region, brand_resolved as brand,
        salutation, salutation_sex, given_name, family_name,
        {{ fold_name('given_name') }} as given_name_norm,
        {{ fold_name('family_name') }} as family_name_norm,
        {{ email_clean('email') }} as email,
        phone as phone_raw,
        mobile_phone as mobile_raw,
        company_resolved as company,
        case when lower(trim(company_resolved)) not in (select value from company_placeholders)
             then {{ company_match_form('company_resolved') }} end as company_norm,
        account_record_key,
        street, city, postal_code, state,
        case when birthdate_problem is null then birthdate end as birthdate,
        birthdate as birthdate_raw,
        birthdate_problem,
        country as country_raw,
        country_code,
        status,
        coalesce(email_opt_out, false) as email_opt_out,
        coalesce(phone_opt_out, false) as phone_opt_out,
        converted_contact_key, crm_lead_key, crm_contact_key, written_global_person_id,
        created_at, last_modified_at, is_deleted, source_extracted_at, reference_version
    from with_context

)

select * from final
