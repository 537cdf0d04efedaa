{# Generic test: the combination of `columns` is unique (no dbt_utils offline).
   Exact, and cheap on tables of millions of rows: rows are first grouped by a 64-bit hash of the
   combination, and only combinations whose hash repeats (a duplicate, or a rare collision) are
   then grouped by value. Without repeated hashes the second scan reads nothing.
   `person_column` / `record_column` scope the test to the rows an incremental governance build
   redid (changed_persons_scope); every row on a full build or when run on its own. #}
{% test unique_combination(model, columns, person_column=none, record_column=none) %}
    {%- set combination = columns | join(', ') %}
    with

    scoped as (

        select {{ combination }}
        from {{ model }}
        where {{ changed_persons_scope(model.identifier, person_column, record_column) }}

    ),

    repeated_hashes as (

        select hash({{ combination }}) as combination_hash
        from scoped
        group by combination_hash
        having count(*) > 1

    )

    select {{ combination }}, count(*) as occurrences
    from scoped
    where hash({{ combination }}) in (select combination_hash from repeated_hashes)
    group by {{ combination }}
    having count(*) > 1
{% endtest %}
