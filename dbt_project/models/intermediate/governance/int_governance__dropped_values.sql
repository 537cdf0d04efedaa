-- What the person records leave out, one row per record and reason, so governance_findings
-- reports it instead of dropping it silently: an e-mail that is not an address, a phone number
-- libphonenumber cannot read, a country no alias maps to an ISO code, and a conversion or
-- connector link identity cannot follow (it names no current record, or a record of another org
-- than the business unit's connected CRM). Deleted records are left out: nobody will fix them.

with

records as (

    select * from {{ ref('int_person_records') }}
    where not is_deleted

),

unioned as (

    select * from {{ ref('int_person_records__unioned') }}
    where not is_deleted

),

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

source_emails as (

    select record_key, email from leads where email is not null
    union all
    select record_key, email from contacts where email is not null
    union all
    select record_key, email from prospects where email is not null

),

invalid_values as (

    select records.record_key, 'invalid_email' as finding_type, 'Email' as what, source_emails.email as value,
           'is not an e-mail address' as reason
    from records
    join source_emails on source_emails.record_key = records.record_key
    where records.email is null

    union all

    select records.record_key, 'invalid_phone', 'Phone', unioned.phone_raw,
           'is not a phone number libphonenumber can read for country ' || coalesce(records.country_code, '(unknown)')
    from records
    join unioned on unioned.record_key = records.record_key
    where unioned.phone_raw is not null and records.phone_e164 is null

    union all

    select records.record_key, 'invalid_phone', 'MobilePhone', unioned.mobile_raw,
           'is not a phone number libphonenumber can read for country ' || coalesce(records.country_code, '(unknown)')
    from records
    join unioned on unioned.record_key = records.record_key
    where unioned.mobile_raw is not null and records.mobile_e164 is null

    union all

    select records.record_key, 'unknown_country', 'Country', unioned.country_raw,
           'is no ISO 3166 country code or known country name (seed country_aliases)'
    from records
    join unioned on unioned.record_key = records.record_key
    where unioned.country_raw is not null and records.country_code is null

),

links as (

    select
        leads.record_key, 'ConvertedContactId' as what, 'Contact' as target_object,
        leads.converted_contact_id as target_id, leads.source as expected_source
    from leads
    where leads.is_converted and leads.converted_contact_id is not null and not leads.is_deleted

    union all

    select prospects.record_key, 'salesforceLeadId', 'Lead', prospects.salesforce_lead_id,
           source_systems.connected_crm
    from prospects
    left join source_systems on source_systems.source = prospects.source
    where prospects.salesforce_lead_id is not null and not prospects.is_deleted

    union all

    select prospects.record_key, 'salesforceContactId', 'Contact', prospects.salesforce_contact_id,
           source_systems.connected_crm
    from prospects
    left join source_systems on source_systems.source = prospects.source
    where prospects.salesforce_contact_id is not null and not prospects.is_deleted

),

broken_links as (

    select
        links.record_key,
        case when elsewhere.record_key is not null then 'cross_org_link' else 'dangling_link' end as finding_type,
        links.what,
        links.target_id as value,
        case
            when elsewhere.record_key is not null
                then 'names ' || elsewhere.record_key || ', a record of another org than '
                     || coalesce(links.expected_source, 'a connected CRM (none in sources.yaml)')
                     || ': link not followed'
            else 'names no current ' || links.target_object || ' in '
                 || coalesce(links.expected_source, 'a connected CRM (none in sources.yaml)')
                 || ' (deleted, never extracted or mistyped): link not followed'
        end as reason
    from links
    left join records as target
        on target.record_key = links.expected_source || ':' || links.target_object || ':' || links.target_id
    left join records as elsewhere
        on elsewhere.object = links.target_object and elsewhere.record_id = links.target_id
        and elsewhere.source is distinct from links.expected_source
    where target.record_key is null
    qualify row_number() over (partition by links.record_key, links.what order by elsewhere.record_key) = 1

),

dropped as (

    select * from invalid_values
    union all
    select * from broken_links

),

final as (

    select
        dropped.finding_type,
        records.source,
        records.object,
        records.region,
        dropped.record_key || ' ' || dropped.what as subject,
        1 as record_count,
        dropped.what || ' ' || '''' || left(dropped.value, 80) || case when length(dropped.value) > 80 then '…' else '' end
            || '''' || ' ' || dropped.reason || ': fix it in the source' as detail
    from dropped
    join records on records.record_key = dropped.record_key

)

select * from final
