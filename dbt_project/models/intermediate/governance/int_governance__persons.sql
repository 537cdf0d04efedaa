{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}

-- One row per global person: home country (the most frequent country among their records,
-- ties to the most recent), the owning CRM org (whose countries contain it) and its region.

with

records as (

    select * from {{ ref('int_governance__records') }}
    where {{ for_changed_persons('global_person_id') }}

),

source_systems as (

    select * from {{ source('systems', 'source_systems') }}

),

country_votes as (

    select
        global_person_id,
        country_code,
        count(*) as votes,
        max(last_modified_at) as latest
    from records
    where country_code is not null
    group by global_person_id, country_code

),

home_country as (

    select
        global_person_id,
        arg_max(country_code, (votes, latest, country_code)) as home_country_code
    from country_votes
    group by global_person_id

),

crm_countries as (

    select source, region, legal_entity, unnest(countries) as country_code
    from source_systems
    where kind = 'salesforce'

),

owning_crm as (

    select
        home_country.global_person_id,
        min(crm_countries.source) as owning_crm
    from home_country
    inner join crm_countries on crm_countries.country_code = home_country.home_country_code
    group by home_country.global_person_id

),

person_facts as (

    select
        global_person_id,
        count(*) as record_count,
        count(distinct source) as source_count,
        count(distinct legal_entity) as legal_entity_count,
        list(distinct legal_entity order by legal_entity) as legal_entities,
        arg_max(region, (last_modified_at, record_key)) as latest_record_region,
        max(last_modified_at) as last_modified_at
    from records
    group by global_person_id

),

final as (

    select
        person_facts.global_person_id,
        home_country.home_country_code,
        owning_crm.owning_crm,
        coalesce(owning_system.region, person_facts.latest_record_region) as region,
        owning_system.legal_entity as owning_legal_entity,
        person_facts.record_count,
        person_facts.source_count,
        person_facts.legal_entity_count,
        person_facts.legal_entities,
        person_facts.last_modified_at
    from person_facts
    left join home_country on home_country.global_person_id = person_facts.global_person_id
    left join owning_crm on owning_crm.global_person_id = person_facts.global_person_id
    left join source_systems as owning_system on owning_system.source = owning_crm.owning_crm

)

select * from final
