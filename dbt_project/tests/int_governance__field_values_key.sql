-- depends_on: {{ ref('int_governance__field_values') }}
-- (record_key, field) is the key of int_governance__field_values: unique and never null. Checked
-- on the same unnest the view runs, over the records of the persons this build redid (everyone
-- on a full build): DuckDB would unnest every record before filtering the view.
{{ config(meta={'dagster': {'ref': {'name': 'int_governance__field_values'}}}) }}

with

records as (

    select * from {{ ref('int_governance__records') }}
    where {{ changed_persons_scope('int_governance__field_values', person_column='global_person_id') }}

),

field_values as (

    {{ field_values_of('records') }}

),

final as (

    select record_key, field, count(*) as occurrences
    from field_values
    group by record_key, field
    having count(*) > 1 or record_key is null or field is null

)

select * from final
