{#-
  The ledger of loads: one row per load attempt in `<target schema>.pipeline_runs` (an orchestrated execution,
  or a plain dbt catch-up: macros/catch_up.sql), and the view `<target schema>.pipeline_loads` of the rows
  that count as a complete load. That view is THE rule of what is loaded: the catch-up (here and in
  `python -m orchestrator run`), `status`, `history`, `report`'s "data as of" and the analyst's SQL read it
  (orchestrator/ledger.py). A complete load is a SUCCEEDED row that built every model of its window: a run
  without selection, or a resume that finished such a run (`completes_window`, set by the launcher). Rows
  written before that column existed count when they had no selection.

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

{% macro _sql_boolean(value) %}
  {#- true/false from a boolean or its text ("true"/"false", as the runner's macro arguments carry it). -#}
  {{- return("true" if value | string | lower == "true" else "false") -}}
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

{% macro pipeline_loads_relation() %}
  {{- return(api.Relation.create(database=target.database, schema=target.schema, identifier="pipeline_loads", type="view")) -}}
{% endmacro %}

{% macro create_pipeline_runs() %}
  {#- The run log and its view of complete loads, created or brought up to date (also as a run-operation). -#}
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
        error {{ text }},
        completes_window boolean,
        allowed_gap boolean
    )
  {%- endcall -%}
  {%- set present = adapter.get_columns_in_relation(relation) | map(attribute="name") | map("lower") | list -%}
  {%- for column in ["completes_window", "allowed_gap"] if column not in present -%}
    {%- do run_query("alter table " ~ relation ~ " add column " ~ column ~ " boolean") -%}
  {%- endfor -%}
  {%- call statement("create_pipeline_loads") -%}
    create or replace view {{ pipeline_loads_relation() }} as
    select
        execution_name,
        window_start,
        window_end,
        started_at,
        finished_at,
        rows_written,
        anomalies
    from {{ relation }}
    where status = 'SUCCEEDED' and coalesce(completes_window, selection is null)
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
        error,
        completes_window,
        allowed_gap
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
        {{ _sql_text(run.error) }},
        {{ _sql_boolean(run.completes_window) }},
        {{ _sql_boolean(run.allowed_gap) }}
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
