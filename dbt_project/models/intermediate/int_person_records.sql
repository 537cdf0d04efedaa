{{ config(
    materialized='incremental',
    unique_key='record_key',
    incremental_strategy='delete+insert',
    post_hook="delete from {{ this }} as built where not exists (
        select 1 from {{ ref('int_person_records__unioned') }} as r where r.record_key = built.record_key)",
) }}

-- One row per person-bearing record (Lead, Contact, Prospect) with canonical matching columns.
-- Incremental like int_person_records__unioned (macros/incremental.sql): a parsed phone number
-- never changes, so a record's row changes only when its unioned row does.

with

records as (

    select * from {{ ref('int_person_records__unioned') }}
    {{ changed_since_last_build('source_extracted_at', 'reference_version') }}

),

phones as (

    select * from {{ ref('int_phone_numbers') }}

),

free_mail_domains as (

    select * from {{ ref('free_mail_domains') }}

),

role_mailboxes as (

    select * from {{ ref('role_mailbox_local_parts') }}

),

emails as (

    select
        record_key,
        {{ email_match_form('email') }} as email_norm,
        split_part(email, '@', 1) as email_local,
        split_part(email, '@', 2) as email_domain
    from records

),

final as (

    select
        records.record_key, records.source, records.object, records.record_id,
        records.legal_entity, records.region, records.brand,
        records.salutation, records.salutation_sex,
        records.given_name, records.family_name, records.given_name_norm, records.family_name_norm,
        records.email, emails.email_norm, emails.email_local, emails.email_domain,
        emails.email_domain in (select domain from free_mail_domains) as is_free_mail,
        -- "info", "sales.emea", "kontakt-berlin": the first word of the local part decides.
        regexp_extract(emails.email_local, '^[a-z]+') in (select local_part from role_mailboxes)
            or emails.email_local in (select local_part from role_mailboxes) as is_role_mailbox,
        phone.phone_e164, mobile.phone_e164 as mobile_e164,
        -- governance hygiene (int_phone_numbers): the raw text, validity and the form to write
        records.phone_raw, records.mobile_raw,
        phone.is_valid as phone_is_valid, mobile.is_valid as mobile_is_valid,
        phone.write_form as phone_write_form, mobile.write_form as mobile_write_form,
        records.company, records.company_norm, records.account_record_key,
        records.street, records.city, records.postal_code, records.state,
        -- null where the birthdate as typed (birthdate_raw) is a placeholder or implausible
        -- (birthdate_problem, int_person_records__unioned)
        records.birthdate, records.birthdate_raw, records.birthdate_problem,
        records.country_code, records.status, records.email_opt_out, records.phone_opt_out,
        records.converted_contact_key, records.crm_lead_key, records.crm_contact_key,
        records.written_global_person_id, records.created_at, records.last_modified_at,
        records.is_deleted, records.source_extracted_at, records.reference_version
    from records
    left join emails on emails.record_key = records.record_key
    left join phones as phone
        on phone.phone_raw = records.phone_raw
        and phone.country_code is not distinct from records.country_code
    left join phones as mobile
        on mobile.phone_raw = records.mobile_raw
        and mobile.country_code is not distinct from records.country_code

)

select * from final
