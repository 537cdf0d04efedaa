with

source as (

    select * from {{ source('salesforce', 'contacts') }}

),

renamed as (

    select
        _record_key as record_key,
        _source as source,
        {{ salesforce_id('Id') }} as contact_id,
        {{ salesforce_id('AccountId') }} as account_id,
        {{ blank_as_null('Salutation') }} as salutation,
        {{ blank_as_null('FirstName') }} as first_name,
        {{ blank_as_null('LastName') }} as last_name,
        {{ blank_as_null('Email') }} as email,
        {{ blank_as_null('Phone') }} as phone,
        {{ blank_as_null('MobilePhone') }} as mobile_phone,
        {{ blank_as_null('Title') }} as title,
        {{ blank_as_null('MailingStreet') }} as street,
        {{ blank_as_null('MailingCity') }} as city,
        {{ blank_as_null('MailingPostalCode') }} as postal_code,
        {{ blank_as_null('MailingState') }} as state,
        {{ blank_as_null('MailingCountry') }} as country,
        {{ to_date('Birthdate') }} as birthdate,
        {{ blank_as_null('LeadSource') }} as lead_source,
        {{ to_boolean('HasOptedOutOfEmail') }} as has_opted_out_of_email,
        {{ to_boolean('DoNotCall') }} as do_not_call,
        {{ blank_as_null('Global_Person_Id__c') }} as global_person_id,
        {{ blank_as_null('Brand__c') }} as brand,
        {{ to_timestamp('CreatedDate') }} as created_at,
        {{ to_timestamp('LastModifiedDate') }} as last_modified_at,
        SystemModstamp as system_modstamp,
        _is_deleted as is_deleted,
        _run_id as extract_run_id,
        cast(_extracted_at as timestamptz) as extracted_at

    from source

)

select * from renamed
