{#-
  The run log: one row per orchestrated execution in `<target schema>.pipeline_runs`, so an analyst can
  ask "as of when?" in SQL (`orchestrator report` prints it as its "data as of" line).

  The state machine's last step on both its success and its failure path ("Record run", "Record failure")
  invokes the runner with a `record_run` payload; the runner (orchestrator.runtime.run_record) calls
  `dbt run-operation record_pipeline_run --args '{"run": {...}}'`, which creates the table when it is
  missing and inserts the row. Every value is a literal (strings quoted here), so the same macro serves
  DuckDB, PostgreSQL and Redshift. Columns: see the `orchestrator.pipeline_runs` source.
-#}

{% macro _pipeline_runs_text_type() %}
  {#- Redshift's plain varchar holds 256 bytes; its longest is 65,535. -#}
  {{- return("varchar(65535)" if target.type == "redshift" else "varchar") -}}
{% endmacro %}

{% macro _sql_text(value) %}
  {#- A nullable string literal (landing.sql's _sql_string, plus null and Redshift's backslash escape). -#}
  {%- if value is none -%}
    {{- return("null") -}}
  {%- endif -%}
  {%- set text = value | string -%}
  {%- if target.type == "redshift" -%}
    {%- set text = text | replace("\\", "\\\\") -%}
  {%- endif -%}
  {{- return(_sql_string(text) | trim) -}}
{% endmacro %}

{% macro _pipeline_run_rows_written(run) %}
  {#- Per model whose meta declares `window_tests` (the column marking the rows a window writes, see
      macros/window_tests.sql): its rows in the run's window, counted now; a model not built yet is left out. -#}
  {%- set counts = {} -%}
  {%- for node in graph.nodes.values() if node.resource_type == "model" and node.config.meta.get("window_tests") -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if relation is not none -%}
      {%- set column = node.config.meta["window_tests"]["column"] -%}
      {%- set found = run_query("select count(*) from " ~ relation ~ " where " ~ column ~ " between cast('" ~ run.window_start ~ "' as date) and cast('" ~ run.window_end ~ "' as date)") -%}
      {%- do counts.update({node.name: found.columns[0].values()[0] | int}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(tojson(counts, sort_keys=true)) -}}
{% endmacro %}

{% macro pipeline_runs_relation() %}
  {{- return(api.Relation.create(database=target.database, schema=target.schema, identifier="pipeline_runs")) -}}
{% endmacro %}

{% macro create_pipeline_runs() %}
  {%- set text = _pipeline_runs_text_type() -%}
  {%- set relation = pipeline_runs_relation() -%}
  {%- do adapter.create_schema(relation) -%}
  {%- call statement("create_pipeline_runs") -%}
    create table if not exists {{ relation }} (
        execution_name {{ text }},
        window_start date,
        window_end date,
        started_at timestamp,
        finished_at timestamp,
        status {{ text }},
        selection {{ text }},
        database_user {{ text }},
        rows_written {{ text }},
        anomalies {{ text }},
        error {{ text }}
    )
  {%- endcall -%}
{% endmacro %}

{% macro _insert_pipeline_run(run) %}
  {%- call statement("insert_pipeline_run") -%}
    insert into {{ pipeline_runs_relation() }} (
        execution_name,
        window_start,
        window_end,
        started_at,
        finished_at,
        status,
        selection,
        database_user,
        rows_written,
        anomalies,
        error
    )
    select
        {{ _sql_text(run.execution_name) }},
        cast({{ _sql_text(run.window_start) }} as date),
        cast({{ _sql_text(run.window_end) }} as date),
        cast({{ _sql_text(run.started_at) }} as timestamp),
        cast({{ _sql_text(run.finished_at) }} as timestamp),
        {{ _sql_text(run.status) }},
        {{ _sql_text(run.selection) }},
        coalesce({{ _sql_text(run.database_user) }}, current_user),
        {{ _sql_text(run.rows_written) }},
        {{ _sql_text(run.anomalies) }},
        {{ _sql_text(run.error) }}
  {%- endcall -%}
  {%- do adapter.commit() -%}
{% endmacro %}

{% macro record_pipeline_run(run) %}
  {#- run-operation of the runner (orchestrator.runtime.run_record): the execution's row, with its window's counts. -#}
  {%- do create_pipeline_runs() -%}
  {%- do run.update({"rows_written": _pipeline_run_rows_written(run)}) -%}
  {%- do _insert_pipeline_run(run) -%}
  {{ log("pipeline_runs: recorded " ~ run.execution_name ~ " (" ~ run.status ~ ")", info=false) }}
{% endmacro %}
