{# Raw tables keep every API value as text; staging casts with these, never failing a whole run on one bad value. #}
{% macro to_boolean(column) -%}
    case lower(trim({{ column }})) when 'true' then true when 'false' then false end
{%- endmacro %}

{% macro to_timestamp(column) -%}
    try_cast({{ column }} as timestamptz)
{%- endmacro %}

{% macro to_date(column) -%}
    try_cast({{ column }} as date)
{%- endmacro %}

{% macro blank_as_null(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}
