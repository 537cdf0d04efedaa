{# Generic test: the combination of `columns` is unique (no dbt_utils offline).
   Exact, and cheap on tables of millions of rows: rows are first grouped by a 64-bit hash of the
   combination, and only combinations whose hash repeats (a duplicate, or a rare collision) are
   then grouped by value. Without repeated hashes the second scan reads nothing. #}
{% test unique_combination(model, columns) %}
    {%- set combination = columns | join(', ') %}
    with

    repeated_hashes as (

        select hash({{ combination }}) as combination_hash
        from {{ model }}
        group by combination_hash
        having count(*) > 1

    )

    select {{ combination }}, count(*) as occurrences
    from {{ model }}
    where hash({{ combination }}) in (select combination_hash from repeated_hashes)
    group by {{ combination }}
    having count(*) > 1
{% endtest %}
