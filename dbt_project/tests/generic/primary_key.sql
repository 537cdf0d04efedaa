{% test primary_key(model, column_name, person_column=none, record_column=none) %}
    {# `unique` and `not_null` in one scan: the column identifies a row (every test is a query
       and a Dagster check per run, so a key costs one, not two). `person_column` /
       `record_column` scope it to the rows an incremental governance build redid, as
       unique_combination does (changed_persons_scope); every row otherwise. #}
    select {{ column_name }}, count(*) as occurrences
    from {{ model }}
    where {{ changed_persons_scope(model.identifier, person_column, record_column) }}
    group by {{ column_name }}
    having {{ column_name }} is null or count(*) > 1
{% endtest %}
