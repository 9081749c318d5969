{#-
  Plain dbt runs in the ledger, and catch-up by default.

  Every plain `dbt run` or `dbt build` (not one of an orchestrated execution's tasks, which set
  STORE_SALES_EXECUTION and are recorded once, by the execution's last state) writes its row to the ledger
  (macros/pipeline_runs.sql): the first on-run-start hook inserts it as `dbt-<invocation_id>`, RUNNING, with
  its window; the on-run-end hook turns it into SUCCEEDED or FAILED with its counts. So a developer's build
  of a window counts as a load like any other, and the ledger stays the one truth of what is loaded.

  Without a window, on DuckDB (target `local`), the run catches up: it loads every landed day after the
  last loaded one, like `python -m orchestrator run` without a date.

  - the window: the catch-up rule of `python -m orchestrator run` without a date, the very Python
    (orchestrator/landing/catch_up.py) called through the function store_sales_landed_window that
    orchestrator/local/duckdb_functions.py registers on the local target's connections: the days after the
    last loaded one whose three extracts have their `_SUCCESS` marker under STORE_SALES_DATA_DIR/landing
    (the README's "Arrival markers"), up to the last landed day before a gap; only the days after the last
    loaded one are listed, so a daily catch-up does not grow with the history;
  - last loaded: the newest window end in the ledger's view of complete loads, pipeline_loads
    (macros/pipeline_runs.sql), over the rows that orchestrated executions and these catch-ups both write;
  - the first on-run-start hook (validate_refresh_window) computes the window ONCE, says it, and pins it
    as this invocation's row `dbt-<invocation_id>` (status RUNNING) in pipeline_runs; every later
    refresh_window() of the invocation reads the pin, so no model sees another window even if a marker
    lands mid-run; the on-run-end hook turns the row into SUCCEEDED or FAILED with its counts;
  - nothing new has landed: dbt has no way to end a build from a hook with success and no work, so the
    catch-up says so and reloads the last loaded day (idempotent: a window's load replaces its rows), unless
    that day's markers are gone too (a wrong data directory, a cleaned landing): then it stops rather than
    replace the day's rows with nothing;
  - no day has landed at all: the run stops, saying where it looked.
  On other targets the landing is not local files: give the window (or use the orchestrator's `run`).
-#}

{% macro catch_up_enabled() %}
  {#- Not `dbt retry`: it reruns the failed nodes of an earlier invocation, whose window it must be given. -#}
  {{- return(execute and target.type == "duckdb" and flags.WHICH in ["run", "build"]) -}}
{% endmacro %}

{% macro plain_run_recorded() %}
  {#- A plain dbt run or build, as opposed to a task of an orchestrated execution (its runner sets STORE_SALES_EXECUTION). -#}
  {{- return(execute and flags.WHICH in ["run", "build"] and env_var("STORE_SALES_EXECUTION", "") | trim == "") -}}
{% endmacro %}

{% macro _catch_up_name() %}
  {{- return("dbt-" ~ invocation_id) -}}
{% endmacro %}

{% macro _landed_window(after) %}
  {#- The catch-up rule's window after the day `after` (none: from the first landed day), or none. -#}
  {%- set data_dir = env_var("STORE_SALES_DATA_DIR", "data") -%}
  {%- set after_sql = "null" if after is none else _date_literal(after) -%}
  {%- set found = run_query("select store_sales_landed_window(" ~ _sql_string(data_dir) ~ ", " ~ after_sql ~ ")").columns[0].values()[0] -%}
  {%- if found is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set window = fromjson(found) -%}
  {{ return({
      "start": _parse_window_date("catch-up window start", window.start),
      "end": _parse_window_date("catch-up window end", window.end),
  }) }}
{% endmacro %}

{% macro _last_loaded_day() %}
  {#- The newest window end of a complete load (the ledger's view pipeline_loads), or none. -#}
  {%- set query -%}
    select cast(max(window_end) as varchar)
    from {{ pipeline_loads_relation() }}
  {%- endset -%}
  {%- set last = run_query(query).columns[0].values()[0] -%}
  {{- return(none if last is none else _parse_window_date("pipeline_runs.window_end", last)) -}}
{% endmacro %}

{% macro pin_catch_up_window() %}
  {#- First on-run-start hook, no window given: choose, say and pin the invocation's window. -#}
  {%- do require_landing_functions() -%}
  {%- do create_pipeline_runs() -%}
  {%- set data_dir = env_var("STORE_SALES_DATA_DIR", "data") -%}
  {%- set last = _last_loaded_day() -%}
  {%- set landed = _landed_window(last) -%}
  {%- if landed is none and last is none -%}
    {{ exceptions.raise_compiler_error("refresh window missing and nothing to catch up: no day has all its extracts landed (a _SUCCESS marker each) under " ~ data_dir ~ "/landing; land the extracts (`python -m orchestrator sample-data`), or give STORE_SALES_WINDOW_START=YYYY-MM-DD") }}
  {%- elif landed is none and _landed_window(last - modules.datetime.timedelta(days=1)) is none -%}
    {{ exceptions.raise_compiler_error("catch-up refused: nothing new has landed, and the markers of the last loaded day " ~ last ~ " are not under " ~ data_dir ~ "/landing either, so reloading it would replace its rows with nothing; check STORE_SALES_DATA_DIR (the landing the warehouse was loaded from), or give STORE_SALES_WINDOW_START=YYYY-MM-DD") }}
  {%- elif landed is none -%}
    {{ log("catch-up: nothing new has landed after the last loaded day " ~ last ~ "; reloading it (a window's load is idempotent)", info=true) }}
    {%- set window = {"start": last, "end": last} -%}
  {%- else -%}
    {%- set since = "nothing loaded before" if last is none else "after the last loaded day " ~ last -%}
    {{ log("catch-up: loading " ~ landed.start ~ " .. " ~ landed.end ~ " (" ~ ((landed.end - landed.start).days + 1) ~ " landed day(s), " ~ since ~ ")", info=true) }}
    {%- set window = landed -%}
  {%- endif -%}
  {%- do _insert_plain_run(window) -%}
{% endmacro %}

{% macro open_plain_run(window) %}
  {#- First on-run-start hook of a plain run given a window: its ledger row, RUNNING. -#}
  {%- do create_pipeline_runs() -%}
  {%- do _insert_plain_run(window) -%}
{% endmacro %}

{% macro _insert_plain_run(window) %}
  {#- The plain run's ledger row, RUNNING, holding its window (for a catch-up, the pin every model reads). -#}
  {%- set selection = none if not flags.SELECT else flags.SELECT | join(" ") -%}
  {%- set run = {
      "execution_name": _catch_up_name(),
      "window_start": window.start.isoformat(),
      "window_end": window.end.isoformat(),
      "started_at": run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
      "finished_at": none,
      "status": "RUNNING",
      "selection": selection,
      "database_user": none,
      "rows_written": none,
      "anomalies": none,
      "error": none,
      "completes_window": not flags.SELECT and not flags.EXCLUDE,
      "allowed_gap": false,
  } -%}
  {%- do _insert_pipeline_run(run) -%}
{% endmacro %}

{% macro pinned_catch_up_window() %}
  {#- The window pinned by this invocation's first hook, or none (no pin: the hook did not run). -#}
  {%- set query -%}
    select cast(window_start as varchar), cast(window_end as varchar)
    from {{ pipeline_runs_relation() }}
    where execution_name = {{ _sql_text(_catch_up_name()) }}
  {%- endset -%}
  {%- set rows = run_query(query).rows -%}
  {%- if rows | length == 0 -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return({
      "start": _parse_window_date("pipeline_runs.window_start", rows[0][0]),
      "end": _parse_window_date("pipeline_runs.window_end", rows[0][1]),
      "given": true,
  }) }}
{% endmacro %}

{% macro record_plain_run(results) %}
  {#- on-run-end hook: a plain run's row becomes SUCCEEDED or FAILED, with what it wrote. -#}
  {%- if plain_run_recorded() -%}
    {%- set window = pinned_catch_up_window() -%}
    {%- if window is not none -%}
      {%- set failed = [] -%}
      {%- for result in results if result.status in ["error", "fail", "runtime error"] -%}
        {%- do failed.append(result.node.name ~ " " ~ result.status ~ ": " ~ (result.message or "") | string) -%}
      {%- endfor -%}
      {%- set run = {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()} -%}
      {%- set query -%}
        update {{ pipeline_runs_relation() }}
        set
            status = {{ _sql_text("FAILED" if failed else "SUCCEEDED") }},
            finished_at = cast({{ _sql_text(modules.datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")) }} as timestamp),
            database_user = current_user,
            rows_written = {{ _sql_text(_pipeline_run_rows_written(run)) }},
            anomalies = {{ _sql_text(tojson(_volume_anomaly_lines(window))) }},
            error = {{ _sql_text((failed | join("; "))[:4000] if failed else none) }}
        where execution_name = {{ _sql_text(_catch_up_name()) }}
      {%- endset -%}
      {%- do run_query(query) -%}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}

{% macro _volume_anomaly_lines(window) %}
  {#- The anomaly lines of the window from every model whose meta declares `volume_monitor`. -#}
  {%- set lines = [] -%}
  {%- for node in graph.nodes.values() if node.resource_type == "model" and node.config.meta.get("volume_monitor") -%}
    {%- set monitor = node.config.meta["volume_monitor"] -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if relation is not none -%}
      {%- set query -%}
        select {{ monitor["message_column"] }}
        from {{ relation }}
        where {{ monitor["date_column"] }} between cast('{{ window.start }}' as date) and cast('{{ window.end }}' as date)
            and {{ monitor["message_column"] }} is not null
        order by 1
      {%- endset -%}
      {%- do lines.extend(run_query(query).columns[0].values() | list) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(lines) -}}
{% endmacro %}
