{% macro own_write_votes(records=none) -%}
    {#- Our own writes are not evidence (aeglobal_pipeline/writeback/own_writes.py): a value the
        write-back wrote, while the record still holds it, must not count as one more independent
        record supporting it. Survivorship counts that record's vote for what it held before the
        write instead, as the run that planned the write did, so the next run ranks as that one
        did and plans nothing new. A select of (record_key, field, value_norm): per record and
        survivorship field whose written value still stands (identity.own_writes_standing, found
        by identity earlier in the run), the normalised form of the value before the write (null
        for an empty one), with each field's own normalisation (governance_fields). `records`: a
        relation whose record_key limits it (an incremental build's changed persons). -#}
    {#- Not a dbt source: identity (re)creates it in each run before governance, which depends on
        identity's global_person_map anyway; as a source every unit test of the models calling
        this would have to supply it. -#}
    {%- set standing = api.Relation.create(database=target.database, schema='identity',
                                           identifier='own_writes_standing') -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(standing) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {#- a field counts when the record column its normalised form reads was kept before the write -#}
    {%- set fields = [] -%}
    {%- for f in (governance_fields() if 'own_fields' in present else []) -%}
        {%- set column = f.norm if modules.re.match('^[a-z_0-9]+$', f.norm) else f.name -%}
        {%- if 'before_' ~ column in present -%}
            {%- do fields.append(f) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if fields and 'own_fields' in present %}
    select record_key, field, value_norm
    from (
        select
            record_key,
            own_fields,
            unnest([
            {%- for f in fields %}
                {'field': '{{ f.name }}', 'value_norm': ({{ f.norm }})::varchar}{{ ',' if not loop.last }}
            {%- endfor %}
            ], recursive := true)
        from (
            select record_key, own_fields, columns('^before_(.*)$') as '\1'
            from {{ standing }}
            where list_has_any(own_fields, [{%- for f in fields %}'{{ f.name }}'{{ ',' if not loop.last }}{% endfor %}])
            {%- if records is not none %}
              and record_key in (select record_key from {{ records }})
            {%- endif %}
        )
    )
    where list_contains(own_fields, field)
    {%- else %}
    select null::varchar as record_key, null::varchar as field, null::varchar as value_norm
    where false
    {%- endif %}
{%- endmacro %}
