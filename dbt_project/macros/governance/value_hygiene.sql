{#
  Value hygiene: the validity verdict and quality rank of every candidate value, computed where
  int_governance__records is unnested into field values (governance_field_values), before
  survivorship. An invalid value never wins and is never written; it becomes a governance
  finding (int_governance__invalid_values). Phone numbers are judged by libphonenumber in
  int_phone_numbers (is_valid_number); everything else is SQL here. Word lists are seeds
  (placeholder_values, email_domain_typos), read once per model compile into constant lists.
#}

{% macro hygiene_placeholders() -%}
    {#- kind → [lower-cased values] of seed placeholder_values, plus 'email_domain_typo'. -#}
    {%- set found = {'any': [], 'name': [], 'company': [], 'email_local': [], 'email_domain': [],
                     'birthdate': [], 'email_domain_typo': []} -%}
    {#- The seeds' tables, not ref(): in a dbt unit test ref() names the test's fixture, which a
        query at compile time cannot read. Each calling model declares `-- depends_on:` both seeds. -#}
    {%- if execute -%}
        {%- set placeholder_values = seed_relation('placeholder_values') -%}
        {%- set domain_typos = seed_relation('email_domain_typos') -%}
        {%- for row in run_query("select kind, lower(trim(value)) from " ~ placeholder_values) -%}
            {%- do found[row[0]].append(row[1]) -%}
        {%- endfor -%}
        {%- for row in run_query("select lower(trim(domain)) from " ~ domain_typos) -%}
            {%- do found['email_domain_typo'].append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{% macro seed_relation(name) -%}
    {%- set node = graph.nodes['seed.' ~ project_name ~ '.' ~ name] -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}

{% macro sql_list(values) -%}
    {#- ('a', 'b'): a constant IN list (never empty). -#}
    ({%- for v in (values or ['']) -%}'{{ v | replace("'", "''") }}'{{ ', ' if not loop.last }}{%- endfor -%})
{%- endmacro %}

{% macro value_problem(f, v, placeholders) -%}
    {#- Why value `v` of field `f` is invalid; null when it is valid. -#}
    {%- if f.type == 'date' -%}
        {#- judged where the record is built (a placeholder, before 1900, not before the record's
            creation): int_person_records carries the verdict beside the value as typed -#}
        {{ f.name }}_problem
    {%- elif f.type != 'varchar' or f.form == 'exact' -%}
        null::varchar
    {%- elif f.form == 'phone' -%}
        case when {{ v }} is not null and not coalesce({{ f.name }}_is_valid, false)
             then 'invalid phone number' end
    {%- else -%}
    case
        when {{ v }} is null then null
        {%- if f.max_length %}
        when length({{ v }}) > {{ f.max_length }} then 'longer than the target field ({{ f.max_length }} characters)'
        {%- endif %}
        when regexp_matches({{ v }}, '[\x00-\x1f\x7f\x{200b}-\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}\x{feff}]')
            then 'control or bidi character'
        when regexp_matches({{ v }}, '[<>]') then 'markup'
        when regexp_matches({{ v }}, '^\s*[=+@-]') then 'formula-leading text'
        when lower(trim({{ v }})) in {{ sql_list(placeholders['any']) }} then 'placeholder'
        {%- if f.form == 'name' %}
        when lower(trim({{ v }})) in {{ sql_list(placeholders['name']) }} then 'placeholder'
        when regexp_matches({{ v }}, '[0-9]') then 'digits in a name'
        when not regexp_matches({{ v }}, '\p{L}') then 'no letters in a name'
        when regexp_matches({{ v }}, '[@#$%^*=_{}\[\]|\\/~!?;:]') then 'symbols in a name'
        {%- elif f.form == 'company' %}
        when lower(trim({{ v }})) in {{ sql_list(placeholders['company']) }} then 'placeholder'
        when not regexp_matches({{ v }}, '[\p{L}0-9]') then 'no letters or digits'
        {%- elif f.form == 'email' %}
        when not regexp_full_match({{ v }},
            '[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}')
            then 'not an e-mail address'
        when split_part({{ v }}, '@', 2) in {{ sql_list(placeholders['email_domain_typo']) }}
            then 'misspelled provider domain (' || split_part({{ v }}, '@', 2) || ')'
        when split_part({{ v }}, '@', 1) in {{ sql_list(placeholders['email_local']) }}
          or split_part({{ v }}, '@', 2) in {{ sql_list(placeholders['email_domain']) }} then 'placeholder address'
        {%- else %}
        when not regexp_matches({{ v }}, '[\p{L}0-9]') then 'no letters or digits'
        {%- endif %}
    end
    {%- endif -%}
{%- endmacro %}

{% macro form_rank(f) -%}
    {#- 1 for a structurally worse form of a name: an initial only (a CJK character is no initial), or the full name in one field
        (the record's other name inside it). Swapped names need the person's other records:
        int_governance__candidates adds them. -#}
    {%- if f.form == 'name' and f.name in ('given_name', 'family_name') -%}
        {%- set other = 'family_name' if f.name == 'given_name' else 'given_name' -%}
        case
            -- one letter, not one CJK character (이, 李: a whole family name)
            when regexp_full_match(trim({{ f.name }}), '\p{L}\.?')
                 and not regexp_matches({{ f.name }}, '[\p{Han}\p{Hangul}\p{Hiragana}\p{Katakana}]') then 1
            when {{ other }}_norm is not null
                 and ({{ f.name }}_norm like {{ other }}_norm || ' %' or {{ f.name }}_norm like '% ' || {{ other }}_norm)
                then 1
            else 0
        end
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}

{% macro case_rank(f, v) -%}
    {#- 1 for a name or place written all upper- or all lower-case (a worse way to write the same value). -#}
    {%- if f.form in ('name', 'place') -%}
        case when length({{ v }}) > 1 and upper({{ v }}) <> lower({{ v }})
                  and ({{ v }} = upper({{ v }}) or {{ v }} = lower({{ v }})) then 1 else 0 end
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}
