{% test is_e164(model, column_name) %}
    {# E.164-shaped: a plus sign and digits (lengths outside a plan are kept, see int_phone_numbers). #}
    select {{ column_name }} from {{ model }}
    where {{ column_name }} is not null and not regexp_full_match({{ column_name }}, '\+[1-9][0-9]{6,16}')
{% endtest %}
