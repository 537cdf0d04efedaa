with

source as (

    select * from {{ source('account_engagement', 'prospects') }}

),

renamed as (

    select
        _record_key as record_key,
        _source as source,
        id as prospect_id,
        {{ blank_as_null('email') }} as email,
        {{ blank_as_null('salutation') }} as salutation,
        {{ blank_as_null('firstName') }} as first_name,
        {{ blank_as_null('lastName') }} as last_name,
        {{ blank_as_null('company') }} as company,
        {{ blank_as_null('jobTitle') }} as title,
        {{ blank_as_null('country') }} as country,
        {{ blank_as_null('city') }} as city,
        {{ blank_as_null('phone') }} as phone,
        {{ to_boolean('optedOut') }} as opted_out,
        {{ to_boolean('isDoNotEmail') }} as is_do_not_email,
        try_cast(score as integer) as score,
        {{ blank_as_null('grade') }} as grade,
        {{ salesforce_id('salesforceLeadId') }} as salesforce_lead_id,
        {{ salesforce_id('salesforceContactId') }} as salesforce_contact_id,
        {{ salesforce_id('salesforceAccountId') }} as salesforce_account_id,
        {{ to_timestamp('createdAt') }} as created_at,
        {{ to_timestamp('updatedAt') }} as updated_at,
        _is_deleted as is_deleted,
        _run_id as extract_run_id,
        cast(_extracted_at as timestamptz) as extracted_at

    from source

)

select * from renamed
