{% test primary_key(model, column_name) %}
    {# `unique` and `not_null` in one scan: the column identifies a row (every test is a query
       and a Dagster check per run, so a key costs one, not two). #}
    select {{ column_name }}, count(*) as occurrences
    from {{ model }}
    group by {{ column_name }}
    having {{ column_name }} is null or count(*) > 1
{% endtest %}
