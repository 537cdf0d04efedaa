{#
  Incremental person records. A record's row in int_person_records__unioned / int_person_records
  depends on its own raw row, its account (company name of a Contact) and the reference data
  (source systems, country aliases, legal suffixes, mail-domain lists, placeholder birthdates).
  Raw rows carry the time the extraction last changed them (`_extracted_at`): an incremental
  build redoes the rows whose record or account changed since the newest change it already
  holds, and every row when the reference data changed. Rows whose record left the source are
  deleted by a post-hook. The result equals a full build (tests/test_incremental_pipeline.py
  compares them).
#}

{% macro reference_version() -%}
    {#- A fingerprint of everything besides a record's own row and account that shapes it. -#}
    md5(
        coalesce((select string_agg(cast(s as varchar), '|' order by s.source)
                  from {{ source('systems', 'source_systems') }} as s), '')
        || '#' || coalesce((select string_agg(alias || '=' || country_code, '|' order by alias, country_code)
                            from {{ ref('country_aliases') }}), '')
        || '#' || coalesce((select string_agg(cast(x as varchar), '|' order by cast(x as varchar))
                            from {{ ref('company_legal_suffixes') }} as x), '')
        || '#' || coalesce((select string_agg(domain, '|' order by domain)
                            from {{ ref('free_mail_domains') }}), '')
        || '#' || coalesce((select string_agg(local_part, '|' order by local_part)
                            from {{ ref('role_mailbox_local_parts') }}), '')
        || '#' || coalesce((select string_agg(value, '|' order by value)
                            from {{ ref('placeholder_values') }} where kind = 'birthdate'), '')
        || '#' || coalesce((select string_agg(salutation || '=' || sex, '|' order by salutation, sex)
                            from {{ ref('salutation_sex') }}), '')
    )
{%- endmacro %}

{% macro changed_since_last_build(extracted_at, version) -%}
    {#- The WHERE clause of an incremental build; nothing on a full build. -#}
    {%- if is_incremental() %}
    where {{ extracted_at }} > (select coalesce(max(source_extracted_at), '-infinity'::timestamptz) from {{ this }})
       or {{ version }} is distinct from (select max(reference_version) from {{ this }})
    {%- endif %}
{%- endmacro %}
