with

source as (

    select * from {{ source('salesforce', 'leads') }}

),

renamed as (

    select
        _record_key as record_key,
        _source as source,
        {{ salesforce_id('Id') }} as lead_id,
        {{ blank_as_null('Salutation') }} as salutation,
        {{ blank_as_null('FirstName') }} as first_name,
        {{ blank_as_null('LastName') }} as last_name,
        {{ blank_as_null('Email') }} as email,
        {{ blank_as_null('Phone') }} as phone,
        {{ blank_as_null('MobilePhone') }} as mobile_phone,
        {{ blank_as_null('Company') }} as company,
        {{ blank_as_null('Title') }} as title,
        {{ blank_as_null('Street') }} as street,
        {{ blank_as_null('City') }} as city,
        {{ blank_as_null('PostalCode') }} as postal_code,
        {{ blank_as_null('State') }} as state,
        {{ blank_as_null('Country') }} as country,
        {{ blank_as_null('Status') }} as status,
        {{ blank_as_null('LeadSource') }} as lead_source,
        {{ to_boolean('HasOptedOutOfEmail') }} as has_opted_out_of_email,
        {{ to_boolean('DoNotCall') }} as do_not_call,
        coalesce({{ to_boolean('IsConverted') }}, false) as is_converted,
        {{ salesforce_id('ConvertedContactId') }} as converted_contact_id,
        {{ salesforce_id('ConvertedAccountId') }} as converted_account_id,
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
