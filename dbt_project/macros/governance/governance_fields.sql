{#
  The canonical fields survivorship resolves (aeglobal_pipeline/governance/rules.py
  SURVIVORSHIP_FIELDS has the same names). Per field: its value as text, the normalised form two
  values are compared by ("the same after normalisation"), and its type for golden_person.
  Which record wins is NOT decided here: that is rules.precedence, read by the generic model.
#}
{% macro governance_fields() -%}
    {{ return([
        {'name': 'given_name', 'value': 'given_name', 'norm': 'given_name_norm', 'type': 'varchar'},
        {'name': 'family_name', 'value': 'family_name', 'norm': 'family_name_norm', 'type': 'varchar'},
        {'name': 'email', 'value': 'email', 'norm': 'email_norm', 'type': 'varchar'},
        {'name': 'phone', 'value': 'phone_e164', 'norm': 'phone_e164', 'type': 'varchar'},
        {'name': 'mobile', 'value': 'mobile_e164', 'norm': 'mobile_e164', 'type': 'varchar'},
        {'name': 'company', 'value': 'company', 'norm': 'company_norm', 'type': 'varchar'},
        {'name': 'street', 'value': 'street', 'norm': "nullif(lower(trim(street)), '')", 'type': 'varchar'},
        {'name': 'city', 'value': 'city', 'norm': fold_name('city'), 'type': 'varchar'},
        {'name': 'postal_code', 'value': 'postal_code', 'norm': "nullif(upper(replace(postal_code, ' ', '')), '')", 'type': 'varchar'},
        {'name': 'state', 'value': 'state', 'norm': "nullif(lower(trim(state)), '')", 'type': 'varchar'},
        {'name': 'country_code', 'value': 'country_code', 'norm': 'country_code', 'type': 'varchar'},
        {'name': 'birthdate', 'value': 'birthdate', 'norm': 'birthdate', 'type': 'date'},
        {'name': 'email_opt_out', 'value': 'email_opt_out', 'norm': 'email_opt_out', 'type': 'boolean'},
        {'name': 'phone_opt_out', 'value': 'phone_opt_out', 'norm': 'phone_opt_out', 'type': 'boolean'},
    ]) }}
{%- endmacro %}

{% macro governance_field_values(relation_alias) -%}
    {#- A list of {field, value, value_norm} structs: one element per canonical field; unnest it. -#}
    [
    {%- for f in governance_fields() %}
        {'field': '{{ f.name }}', 'value': ({{ f.value }})::varchar, 'value_norm': ({{ f.norm }})::varchar}{{ ',' if not loop.last }}
    {%- endfor %}
    ]
{%- endmacro %}

{% macro survivorship_order() -%}
    {#- The one ordering every strategy shares; the strategy decides which key is active. -#}
    case when strategy = 'most_restrictive' then restrictive_rank end asc nulls last,
    case when strategy = 'source_priority' then priority_position end asc nulls last,
    case when strategy = 'most_frequent' then value_frequency end desc nulls last,
    last_modified_at desc nulls last,
    record_key asc
{%- endmacro %}

{% macro role_matches(role, source, kind, connected_crm, owning_crm) -%}
    {#- Does a record (source, kind, connected_crm) play `role` for a person owned by owning_crm? -#}
    (
        {{ role }} = 'any'
        or {{ role }} = {{ source }}
        or ({{ role }} = 'any_crm' and {{ kind }} = 'salesforce')
        or ({{ role }} = 'any_ae' and {{ kind }} = 'account_engagement')
        or ({{ role }} = 'owning_crm' and {{ source }} = {{ owning_crm }})
        or ({{ role }} = 'owning_ae' and {{ kind }} = 'account_engagement' and {{ connected_crm }} = {{ owning_crm }})
    )
{%- endmacro %}

{% macro generic_roles() -%}
    {#- The roles role_matches knows besides a source's own name. -#}
    {{ return(['any', 'any_crm', 'any_ae', 'owning_crm', 'owning_ae']) }}
{%- endmacro %}

{% macro role_position(record, generic, source_role) -%}
    {#- role_matches as a lookup, for millions of records: the lowest position in a priority list
        that a role of `record` (source, kind, connected_crm, owning_crm) matches, given the list's
        best position per generic role (`generic`.<role>_position) and its entry for the record's
        source name (`source_role`.position). Keep it in step with role_matches. -#}
    least(
        {{ generic }}.any_position,
        {{ source_role }}.position,
        case when {{ record }}.kind = 'salesforce' then {{ generic }}.any_crm_position end,
        case when {{ record }}.kind = 'account_engagement' then {{ generic }}.any_ae_position end,
        case when {{ record }}.source = {{ record }}.owning_crm then {{ generic }}.owning_crm_position end,
        case when {{ record }}.kind = 'account_engagement' and {{ record }}.connected_crm = {{ record }}.owning_crm
             then {{ generic }}.owning_ae_position end
    )
{%- endmacro %}

{% macro sharing_allows(field, from_entity, to_entity) -%}
    {#- A value of `field` may flow from one legal entity's systems into another's (sharing.yaml). -#}
    (
        {{ from_entity }} = {{ to_entity }}
        or exists (
            select 1 from {{ source('rules', 'sharing') }} as sharing_rule
            where sharing_rule.field = {{ field }}
              and sharing_rule.from_legal_entity in ({{ from_entity }}, '*')
              and sharing_rule.to_legal_entity in ({{ to_entity }}, '*')
        )
    )
{%- endmacro %}
