with

source as (

    select * from {{ source('salesforce', 'accounts') }}

),

renamed as (

    select
        _record_key as record_key,
        _source as source,
        {{ salesforce_id('Id') }} as account_id,
        {{ blank_as_null('Name') }} as account_name,
        {{ blank_as_null('Website') }} as website,
        {{ blank_as_null('Industry') }} as industry,
        {{ blank_as_null('BillingCountry') }} as billing_country,
        {{ blank_as_null('BillingCity') }} as billing_city,
        {{ to_timestamp('CreatedDate') }} as created_at,
        {{ to_timestamp('LastModifiedDate') }} as last_modified_at,
        SystemModstamp as system_modstamp,
        _is_deleted as is_deleted,
        _run_id as extract_run_id,
        cast(_extracted_at as timestamptz) as extracted_at

    from source

)

select * from renamed
