{#
  Incremental governance. Every governance model but a few small aggregates depends only on the
  records of one global person, plus inputs that are the same for everyone (the rules, reference
  data, source systems, which legal entities and raw columns exist). So an incremental build
  redoes only the persons int_governance__changed_persons lists: each person-keyed model deletes
  their rows (pre-hook) and appends them rebuilt from inputs filtered to them. The list holds
  every person whose records changed, moved between persons or appeared or vanished (old and new
  ids, so retired ids are deleted), whose write-back echo changed, or whose recent-activity
  signal flips as the as-of date moves; everyone when an input shared by all changed. It is
  cleared at the end of the dbt invocation (clear_changed_persons, an on-run-end hook), and only
  when every model that reads it was built and nothing failed, so a build that fails half-way is
  redone for those persons next time. Which models read it comes from dbt's graph: a model added
  later that calls for_changed_persons or delete_changed_persons is covered with no declaration,
  wherever it sits in the DAG. A change to the dbt project itself
  rebuilds from scratch (aeglobal_pipeline/transform/assets.py passes --full-refresh).
  tests/test_incremental_pipeline.py compares an incremental build with a full one.
#}

{% macro governance_version() -%}
    {#- A fingerprint of every input of the governance models that is shared by all persons. -#}
    md5(
        {{ reference_version() }}
        || '#' || coalesce((select string_agg(file || '=' || sha256, '|' order by file)
                            from {{ source('rules', 'rule_files') }}), '')
        || '#' || coalesce((select string_agg(cast(t as varchar), '|' order by cast(t as varchar))
                            from {{ source('rules', 'identity_thresholds') }} as t), '')
        || '#' || coalesce((select string_agg(distinct legal_entity, '|' order by legal_entity)
                            from {{ ref('int_person_records') }}), '')
        || '#' || coalesce((select string_agg(table_name || '.' || column_name, '|' order by table_name, column_name)
                            from information_schema.columns where table_schema = 'raw'), '')
    )
    {#- The value-hygiene seeds are not in it: they are files of the dbt project, and a change to
        the project rebuilds from scratch (aeglobal_pipeline/transform/assets.py). -#}
{%- endmacro %}

{% macro governance_as_of() -%}
    {#- "Recent" activity is measured from the newest change extracted (not from the run date),
        so a rerun over the same data scores the same. -#}
    (select max(last_modified_at) from {{ ref('int_person_records') }} where not coalesce(is_deleted, false))
{%- endmacro %}

{% macro previous_build(identifier) -%}
    {#- A governance table as the previous build left it (no ref: it is built later in this one).
        Only the model itself or one upstream of it is sure to run before this build replaces
        it: any other caller fails here, naming the dependency to add. -#}
    {%- set read_id = 'model.' ~ project_name ~ '.' ~ identifier -%}
    {%- if read_id in graph.nodes and read_id != model.unique_id
          and not is_upstream(model.unique_id, read_id) -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " reads the previous build of " ~ identifier ~ " but is not upstream of it,"
            ~ " so this build may have replaced it already: add `-- depends_on: {{ ref('" ~ model.name
            ~ "') }}` to " ~ identifier ~ ".sql") }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier=identifier)) }}
{%- endmacro %}

{% macro is_upstream(ancestor_id, node_id) -%}
    {#- Whether dbt's graph has a path from `ancestor_id` to `node_id` (execution time only). -#}
    {%- set queue = [node_id] -%}
    {%- for current in queue -%}
        {%- for parent in graph.nodes.get(current, {}).get('depends_on', {}).get('nodes', [])
                if parent not in queue -%}
            {%- do queue.append(parent) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(ancestor_id in queue[1:]) }}
{%- endmacro %}

{% macro for_changed_persons(column, stamped_by=none) -%}
    {#- A WHERE condition: on an incremental build, only the persons to redo.
        `stamped_by` names the model whose table is read (by its unqualified `column`) when that
        table stamps its rows with `_built_at` (build_stamp). When that model ran earlier in this
        same dbt invocation, its rows of the persons to redo are the ones it appended now: the stamp lets
        DuckDB skip every older row group by its min/max, where the semi-join alone would read
        the whole table (9M rows for the candidates at 1M records). The semi-join stays, so a
        table rebuilt in full in this invocation still gives only the persons to redo. -#}
    {%- set changed = ref('int_governance__changed_persons') -%}
    {%- if is_incremental() -%}
        {%- if stamped_by is not none and ('model.' ~ project_name ~ '.' ~ stamped_by) in selected_resources -%}
            _built_at = {{ build_stamp() }} and
        {% endif -%}
        {{ column }} in (select global_person_id from {{ changed }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro build_stamp() -%}
    {#- When this dbt invocation started, as the `_built_at` of the rows a model appends. -#}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}

{% macro delete_changed_persons(also='') -%}
    {#- The pre-hook of a person-keyed incremental model: drop the rows of the persons to redo. -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where global_person_id in (select global_person_id from {{ ref('int_governance__changed_persons') }})
        {%- if also %} or ({{ also }}){% endif %}
    {%- endif -%}
{%- endmacro %}

{% macro clear_changed_persons(results) -%}
    {#- The on-run-end hook (dbt_project.yml) that completes an incremental governance build:
        empties int_governance__changed_persons once every model that reads it (any model whose
        depends_on names it: the callers of for_changed_persons and delete_changed_persons, and
        int_governance__build_state) was built in this invocation, and no node of it failed or
        was skipped. Any other invocation (a failed build, a subset, `dbt test`) keeps the list,
        and the next build redoes those persons as well. An on-run-end hook runs after every
        node, so no model can read the list after it was cleared. -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set changed_id = 'model.' ~ project_name ~ '.int_governance__changed_persons' -%}
    {%- set status_of = {} -%}
    {%- for result in results -%}
        {%- do status_of.update({result.node.unique_id: result.status | string}) -%}
    {%- endfor -%}
    {%- set finished = ['success', 'pass', 'warn', 'no-op'] -%}
    {%- set complete = namespace(ok=changed_id in graph.nodes) -%}
    {%- for status in status_of.values() if status not in finished -%}
        {%- set complete.ok = false -%}
    {%- endfor -%}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and changed_id in node.depends_on.nodes
               and node.config.materialized != 'ephemeral' -%}
        {%- if status_of.get(node.unique_id) != 'success' -%}
            {%- set complete.ok = false -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if complete.ok -%}
        delete from {{ graph.nodes[changed_id].relation_name }}
    {%- endif -%}
{%- endmacro %}

{% macro field_values_of(records) -%}
    {#- Each canonical field of each record in `records`, long form (int_governance__field_values). -#}
    select
        record_key, global_person_id, source, object, record_id, kind, connected_crm,
        legal_entity, region, last_modified_at, is_writable, attach_probability,
        -- Records that are copies of one another (a prospect synced from its lead or contact, a
        -- converted lead and its contact) support a value once, not twice.
        coalesce(crm_contact_key, crm_lead_key, converted_contact_key, record_key) as lineage_key,
        unnest({{ governance_field_values(records) }}, recursive := true)
    from {{ records }}
{%- endmacro %}

{% macro changed_persons_scope(model_name, person_column=none, record_column=none) -%}
    {#- A WHERE condition for the data tests of person-keyed governance models: in a `dbt build`
        that builds `model_name`, only the rows of the persons the build redid (the rows of
        everyone else were tested when they were built and have not changed since;
        int_governance__changed_persons lists everyone on a full build). Otherwise (`dbt test`,
        or a check run on its own) every row. `record_column` names a record key, mapped to
        persons through int_governance__records. -#}
    {%- if person_column is none and record_column is none -%}
        true
    {%- else -%}
        {#- Both refs at parse time too, so dbt records the test's dependencies. -#}
        {%- set changed = ref('int_governance__changed_persons') -%}
        {%- set records = ref('int_governance__records') -%}
        {%- if flags.WHICH != 'build' or ('model.' ~ project_name ~ '.' ~ model_name) not in selected_resources -%}
            true
        {%- elif person_column is not none -%}
            {{ person_column }} in (select global_person_id from {{ changed }})
        {%- else -%}
            {{ record_column }} in (
                select record_key from {{ records }}
                where global_person_id in (select global_person_id from {{ changed }}))
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro stale_grey_zone_pairs() -%}
    {#- The pre-hook condition of identity_conflicts for grey-zone rows: those no longer stored
        exactly as int_governance__grey_zone_pairs has them now (the pair left the grey zone, its
        probability or its persons changed). The rest stay; the model appends the missing ones. -#}
    {%- set pairs = ref('int_governance__grey_zone_pairs') -%}
    conflict_type = 'grey_zone_pair' and conflict_id not in (
        select built.conflict_id
        from {{ this }} as built
        inner join {{ pairs }} as pairs on pairs.conflict_id = built.conflict_id
        where built.conflict_type = 'grey_zone_pair'
          and pairs.rule is not distinct from built.rule
          and pairs.match_probability is not distinct from built.match_probability
          and pairs.detail is not distinct from built.detail)
{%- endmacro %}
