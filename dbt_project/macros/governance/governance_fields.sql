{#
  The canonical fields survivorship resolves: the `survivorship: true` fields of
  identity_rules/field_dictionary.yaml (the one registry of fields), read from rules.field_dictionary
  when a model compiles. Per field: its value as text, the normalised form two values are compared
  by ("the same after normalisation", from its `match_form`), its type for golden_person, and the
  hygiene verdict of each value (macros/governance/value_hygiene.sql).
  Which record wins is NOT decided here: that is rules.precedence, read by the generic model.
#}
{% macro governance_fields() -%}
    {%- set dictionary = source('rules', 'field_dictionary') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select field, any_value(value_type), any_value(match_form), max(max_length)
        from {{ dictionary }}
        where kind = 'central' and survivorship
        group by field
        order by min(position)
    {%- endset -%}
    {%- set fields = [] -%}
    {%- for row in run_query(query) -%}
        {%- set name, type, form, max_length = row[0], row[1], row[2], row[3] -%}
        {%- if form == 'phone' -%}
            {#- the E.164 form plus its extension where the number is valid, else the raw text -#}
            {%- set value = 'coalesce(' ~ name ~ '_write_form, ' ~ name ~ '_raw)' -%}
            {%- set norm = name ~ '_e164' -%}
        {%- elif type == 'date' -%}
            {#- the date as typed, an implausible one included: hygiene reports it (value_problem) -#}
            {%- set value = name ~ '_raw' -%}
            {%- set norm = name ~ '_raw' -%}
        {%- elif form in ('name', 'email', 'company') -%}
            {%- set value = name -%}
            {%- set norm = name ~ '_norm' -%}
        {%- elif form == 'lower_trim' -%}
            {%- set value = name -%}
            {%- set norm = "nullif(lower(trim(" ~ name ~ ")), '')" -%}
        {%- elif form == 'postal' -%}
            {%- set value = name -%}
            {%- set norm = "nullif(upper(replace(" ~ name ~ ", ' ', '')), '')" -%}
        {%- elif form == 'place' -%}
            {%- set value = name -%}
            {%- set norm = fold_name(name) -%}
        {%- else -%}
            {%- set value = name -%}
            {%- set norm = name -%}
        {%- endif -%}
        {%- do fields.append({'name': name, 'value': value, 'norm': norm, 'form': form,
                              'type': {'text': 'varchar'}.get(type, type), 'max_length': max_length}) -%}
    {%- endfor -%}
    {{ return(fields) }}
{%- endmacro %}

{% macro governance_field_values(relation_alias) -%}
    {#- A list of structs, one per canonical field: the value, its normalised form and its hygiene
        (problem: why it is invalid, null when valid; form_rank / case_rank: 1 for a worse form;
        copyable: false for a value that stays on its own record, a role mailbox); unnest it. -#}
    {%- set placeholders = hygiene_placeholders() %}
    [
    {%- for f in governance_fields() %}
        {'field': '{{ f.name }}', 'value': ({{ f.value }})::varchar, 'value_norm': ({{ f.norm }})::varchar,
         'problem': {{ value_problem(f, '(' ~ f.value ~ ')::varchar', placeholders) }},
         'form_rank': {{ form_rank(f) }},
         'case_rank': {{ case_rank(f, '(' ~ f.value ~ ')::varchar') }},
         'copyable': {{ "not coalesce(is_role_mailbox, false)" if f.form == 'email' else 'true' }}}{{ ',' if not loop.last }}
    {%- endfor %}
    ]
{%- endmacro %}

{% macro survivorship_order() -%}
    {#- The one ordering every strategy shares. Forms (values equal after normalisation) compete
        first: consent moves only towards the opt-out; a worse form (an initial, a full name in
        the last-name field, swapped names, a role mailbox) never beats a clean one; then the form
        most independent records support (value_frequency), so one record's value never beats a
        form two others agree on, unless precedence.yaml makes the field `authoritative` (its
        strategy decides first: the priority list, or the most recent record); otherwise the
        strategy breaks ties (the best role in the form, its most recent record). Within the
        winning form, a record holding the value by our own earlier write comes last (it
        supplies the value no more than it did the run before), then the best-written value
        (case) of the best-placed record is the one shown. -#}
    case when strategy = 'most_restrictive' then restrictive_rank end asc nulls last,
    form_rank asc,
    case when authoritative and strategy = 'source_priority' then form_priority end asc nulls last,
    case when authoritative and strategy = 'most_recent' then form_latest end desc nulls last,
    value_frequency desc,
    case when strategy = 'source_priority' then form_priority end asc nulls last,
    case when strategy in ('most_recent', 'most_frequent') then form_latest end desc nulls last,
    holds_own_write asc,
    case_rank asc,
    priority_position asc nulls last,
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
