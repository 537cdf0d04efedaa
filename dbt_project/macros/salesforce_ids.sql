{# A Salesforce id in its 18-character form: Salesforce answers 18, but AE's salesforceLeadId /
   salesforceContactId and exported files may carry the case-sensitive 15-character form. The three
   suffix characters encode which of each 5 characters are upper case (see sources/ids.py). #}
{% macro salesforce_id(column) -%}
    {%- set id = "nullif(trim(" ~ column ~ "), '')" -%}
    case when regexp_full_match({{ id }}, '[a-zA-Z0-9]{15}') then {{ id }}
        {%- for start in [1, 6, 11] %}
        || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 1
            {%- for i in range(5) %} + case when substr({{ id }}, {{ start + i }}, 1) between 'A' and 'Z' then {{ 2 ** i }} else 0 end{% endfor %}, 1)
        {%- endfor %}
        else {{ id }} end
{%- endmacro %}
