{# Matching forms of names, emails, companies and countries. Originals stay in their own columns. #}

{% macro fold_text(column) -%}
    {#- lower-case, diacritics folded, letters the Unicode decomposition leaves alone mapped by hand -#}
    strip_accents(lower(
        replace(replace(replace(replace(replace(replace(replace(
            {{ column }}, 'ß', 'ss'), 'ẞ', 'ss'), 'æ', 'ae'), 'Æ', 'ae'), 'œ', 'oe'), 'Œ', 'oe'), 'ı', 'i')
    ))
    .translate('łŁøØđĐðÐþÞ', 'llooddddtt')
{%- endmacro %}

{% macro fold_name(column) -%}
    nullif(trim(regexp_replace(regexp_replace(
        {{ fold_text(column) }}, '[^\p{L} -]+', '', 'g'), '\s+', ' ', 'g')), '')
{%- endmacro %}

{% macro email_clean(column) -%}
    {#- trimmed (tabs and line breaks too: trim() takes only spaces) and lower-cased; null when
        it is not an address at all -#}
    case when regexp_full_match(lower(trim({{ column }}, e' \t\r\n')), '[^@\s]+@[^@\s]+\.[^@\s]+')
         then lower(trim({{ column }}, e' \t\r\n')) end
{%- endmacro %}

{% macro email_match_form(email) -%}
    {#- gmail-style folding: +tags dropped everywhere, dots dropped where the provider ignores them -#}
    case when {{ email }} is not null then
        case when split_part({{ email }}, '@', 2) in ('gmail.com', 'googlemail.com')
             then replace(regexp_replace(split_part({{ email }}, '@', 1), '\+.*$', ''), '.', '') || '@gmail.com'
             else regexp_replace(split_part({{ email }}, '@', 1), '\+.*$', '') || '@' || split_part({{ email }}, '@', 2)
        end
    end
{%- endmacro %}

{% macro lookup_key(column) -%}
    {#- 'U.S.' -> 'u s', 'Österreich' -> 'osterreich': the key of the country alias seed -#}
    nullif(trim(regexp_replace({{ fold_text(column) }}, '[[:punct:][:space:]]+', ' ', 'g')), '')
{%- endmacro %}

{% macro legal_suffix_pattern() -%}
    {#- One regex of the legal suffixes in the seed, longest first, anchored at the end of the name. -#}
    {%- if execute -%}
        {%- set rows = run_query("select suffix from " ~ ref('company_legal_suffixes') ~ " order by length(suffix) desc") -%}
        {%- set alternatives = [] -%}
        {%- for row in rows -%}
            {%- do alternatives.append(modules.re.escape(row[0])) -%}
        {%- endfor -%}
        '(\s+(' || {{ dbt.string_literal(alternatives | join('|')) }} || '))+$'
    {%- else -%}
        '$^'
    {%- endif -%}
{%- endmacro %}

{% macro company_match_form(column) -%}
    nullif(trim(regexp_replace(
        trim(regexp_replace(regexp_replace({{ fold_text(column) }}, '&', ' & ', 'g'), '[^\p{L}0-9&]+', ' ', 'g')),
        {{ legal_suffix_pattern() }}, '')), '')
{%- endmacro %}

{% macro transliterate_umlauts(column) -%}
    {#- the spelling of ä ö ü ß å without those letters (Müller → Mueller), as e-mail addresses write them -#}
    replace(replace(replace(replace(replace(replace(replace(replace(replace(
        {{ column }}, 'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'Ä', 'Ae'), 'Ö', 'Oe'), 'Ü', 'Ue'), 'ß', 'ss'), 'å', 'aa'), 'Å', 'Aa')
{%- endmacro %}
