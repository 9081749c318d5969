{#-
  The landing relations behind source('tpcds', ...). See the `tpcds_source` docs block for the layout.
  create_landing_sources() runs in the last on-run-start hook of a command that loads (landing_sources_hook)
  and as a run-operation:
    dbt run-operation create_landing_sources
-#}

{% macro landing_tables(kind=none) %}
  {#- The tpcds source tables (graph nodes), optionally only one kind: "extract" or "reference". -#}
  {%- set tables = [] -%}
  {%- for node in graph.sources.values() | sort(attribute="name") -%}
    {%- if node.package_name == "store_sales" and node.source_name == "tpcds" -%}
      {%- if kind is none or node.meta.get("landing") == kind -%}
        {%- do tables.append(node) -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(tables) }}
{% endmacro %}

{% macro landing_tables_selected() %}
  {#- The tpcds source tables that the selected nodes read directly; all of them when nothing is selected (run-operation). -#}
  {%- set selected = selected_resources | list -%}
  {%- if selected | length == 0 -%}
    {{ return(landing_tables()) }}
  {%- endif -%}
  {%- set read = [] -%}
  {%- for unique_id in selected if unique_id in graph.nodes -%}
    {%- do read.extend(graph.nodes[unique_id].depends_on.nodes) -%}
  {%- endfor -%}
  {%- set tables = [] -%}
  {%- for table in landing_tables() if table.unique_id in read -%}
    {%- do tables.append(table) -%}
  {%- endfor -%}
  {{ return(tables) }}
{% endmacro %}

{% macro landing_sources_hook() %}
  {#-
    The on-run-start hook: only a command that loads (run, build, retry: the ones that need a refresh window)
    declares the landing relations. Every other command that runs the hooks (docs generate, compile, show,
    seed, test, snapshot) reads no landing data: a broken file of an old day cannot stop it, and the docs
    catalog describes the relations the last load declared.
  -#}
  {%- if refresh_window_required() -%}
    {{- create_landing_sources() -}}
  {%- endif -%}
{% endmacro %}

{% macro create_landing_sources() %}
  {%- if execute -%}
    {{- adapter.dispatch("create_landing_sources", "store_sales")() -}}
  {%- endif -%}
{% endmacro %}

{% macro default__create_landing_sources() %}
  {#- PostgreSQL (and any other adapter): the landing tables are real tables loaded by a loader. -#}
  {%- if refresh_window_required() -%}
    {%- for table in landing_tables() -%}
      {%- set relation = adapter.get_relation(database=table.database, schema=table.schema, identifier=table.identifier) -%}
      {%- if relation is none -%}
        {{ exceptions.raise_compiler_error("landing table " ~ table.schema ~ "." ~ table.identifier ~ " does not exist on target '" ~ target.name ~ "': load the extracts first (see the tpcds source documentation)") }}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{% macro require_landing_functions() %}
  {#- The landing rules the DuckDB target's macros call are Python functions that the profile's dbt-duckdb
      plugin registers (orchestrator/local/duckdb_functions.py); a profile without it gets this, not a
      "Scalar Function ... does not exist" from deep inside a hook. -#}
  {%- set query -%}
    select count(distinct function_name)
    from duckdb_functions()
    where function_name in ('store_sales_landed_window', 'store_sales_parquet_problem')
  {%- endset -%}
  {%- if run_query(query).columns[0].values()[0] < 2 -%}
    {{ exceptions.raise_compiler_error("the landing rules are not registered on this DuckDB connection: the profile's `" ~ target.name ~ "` output needs `plugins: [{module: orchestrator.local.duckdb_functions}]` (as in the project's profiles.yml), with the orchestrator package installed (`make setup`)") }}
  {%- endif -%}
{% endmacro %}

{% macro _sql_string(text) -%}
  '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro _typed_empty_select(table) -%}
  select
  {%- for column in table.columns.values() %}
    cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
  {%- endfor %}
  where 1 = 0
{%- endmacro %}

{% macro duckdb__create_landing_sources() %}
  {#-
    DuckDB: one view per source table over the local Parquet files under STORE_SALES_DATA_DIR
    (default `data`). With a refresh window, an extract's view reads ONLY the files of the window's
    load_date folders (listed once; the window files of each extract read are validated first by
    macros/landing_validation.sql), so a daily run
    costs the same after five years as after one month, and a broken file outside the window is never
    opened. Without a window (`dbt run-operation create_landing_sources`) it reads
    `landing/<table>/*/*.parquet`. Reference tables
    read `reference/<table>.parquet`. Hive partitioning makes load_date a column. A table with no file
    becomes an empty view with the declared columns, so a fresh data directory still builds (to nothing).
    Only the tables the selected models read are (re)declared: a task of the reports touches none.
  -#}
  {%- set data_dir = env_var("STORE_SALES_DATA_DIR", "data") | replace("\\", "/") -%}
  {%- set tables = landing_tables_selected() -%}
  {%- set schemas = tables | map(attribute="schema") | unique | list -%}
  {%- for schema in schemas -%}
    {%- do run_query("create schema if not exists " ~ schema) -%}
  {%- endfor -%}
  {%- set window = refresh_window() -%}
  {%- set window_files = {} -%}
  {%- if window.given and tables | length > 0 -%}
    {%- do require_landing_functions() -%}
    {#- Each extract the task reads is validated for the window: a bad file stops the task that reads it, before its models run; a task never fails for an extract it does not read. -#}
    {%- for table in tables if table.meta.get("landing") == "extract" -%}
      {%- set files = _landing_window_files(data_dir ~ "/landing/" ~ table.identifier, window) -%}
      {%- do validate_landing_window(table, files, window) -%}
      {%- do window_files.update({table.identifier: files}) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- for table in tables -%}
    {%- if table.meta.get("landing") == "extract" -%}
      {%- set pattern = data_dir ~ "/landing/" ~ table.identifier ~ "/*/*.parquet" -%}
      {%- if window.given -%}
        {%- set files = window_files[table.identifier] -%}
        {%- set source_files = _sql_file_list(files) -%}
      {%- else -%}
        {%- set files = run_query("select file from glob(" ~ _sql_string(pattern) ~ ") limit 1").columns[0].values() | list -%}
        {%- set source_files = _sql_string(pattern) -%}
      {%- endif -%}
      {%- set reader = "read_parquet(" ~ source_files ~ ", hive_partitioning = true, union_by_name = true)" -%}
    {%- else -%}
      {%- set pattern = data_dir ~ "/reference/" ~ table.identifier ~ ".parquet" -%}
      {%- set files = run_query("select file from glob(" ~ _sql_string(pattern) ~ ")").columns[0].values() | list -%}
      {%- set reader = "read_parquet(" ~ _sql_string(pattern) ~ ")" -%}
    {%- endif -%}
    {%- set body = ("select * from " ~ reader) if files | length > 0 else _typed_empty_select(table) -%}
    {%- do run_query("create or replace view " ~ table.schema ~ "." ~ table.identifier ~ " as " ~ body) -%}
  {%- endfor -%}
  {%- do log("landing views over " ~ data_dir ~ " ready: " ~ tables | map(attribute="identifier") | join(", "), info=false) -%}
{% endmacro %}

{% macro redshift__create_landing_sources() %}
  {#-
    Redshift: the landing tables are Spectrum external tables (created once by
    `dbt run-operation create_landing_external_tables`). Each run registers the partitions of its
    window's load dates, so the extract tables see exactly the folders of those days.
  -#}
  {%- set window = refresh_window() -%}
  {%- if window.given -%}
    {%- for statement in landing_partition_statements(window.start, window.end) -%}
      {%- do run_query(statement) -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{% macro _landing_s3_uri() %}
  {%- set uri = env_var("STORE_SALES_LANDING_S3_URI", "") | trim -%}
  {%- if not uri.startswith("s3://") -%}
    {{ exceptions.raise_compiler_error("STORE_SALES_LANDING_S3_URI='" ~ uri ~ "' must be the S3 folder holding landing/ and reference/, e.g. s3://my-bucket/store-sales") }}
  {%- endif -%}
  {{ return(uri.rstrip("/")) }}
{% endmacro %}

{% macro landing_partition_statements(start, end) %}
  {#- ALTER TABLE ... ADD IF NOT EXISTS PARTITION statements for every extract and every day of [start, end]. -#}
  {%- set root = _landing_s3_uri() -%}
  {%- set statements = [] -%}
  {%- for table in landing_tables("extract") -%}
    {%- set partitions = [] -%}
    {%- for offset in range((end - start).days + 1) -%}
      {%- set day = (start + modules.datetime.timedelta(days=offset)).isoformat() -%}
      {%- do partitions.append("partition (load_date = '" ~ day ~ "') location '" ~ root ~ "/landing/" ~ table.identifier ~ "/load_date=" ~ day ~ "/'") -%}
    {%- endfor -%}
    {%- do statements.append("alter table " ~ table.schema ~ "." ~ table.identifier ~ " add if not exists " ~ partitions | join(" ")) -%}
  {%- endfor -%}
  {{ return(statements) }}
{% endmacro %}

{% macro _spectrum_type(data_type) -%}
  {{- "varchar(256)" if data_type == "varchar" else data_type -}}
{%- endmacro %}

{% macro landing_external_table_statements() %}
  {#-
    The Spectrum DDL of the landing: an external schema on the AWS Glue Data Catalog and one external
    Parquet table per source table, with the columns declared in _tpcds__sources.yml (in file order).
    Extracts are partitioned by load_date; each reference table reads its own folder
    <root>/reference/<table>/ (Spectrum locations are folders).
  -#}
  {%- set root = _landing_s3_uri() -%}
  {%- set role = env_var("STORE_SALES_SPECTRUM_ROLE_ARN", "") | trim -%}
  {%- if not role.startswith("arn:") -%}
    {{ exceptions.raise_compiler_error("STORE_SALES_SPECTRUM_ROLE_ARN='" ~ role ~ "' must be the ARN of the IAM role Redshift assumes to read the landing bucket") }}
  {%- endif -%}
  {%- set catalog_database = env_var("STORE_SALES_GLUE_DATABASE", "store_sales_landing") -%}
  {%- set tables = landing_tables() -%}
  {%- set statements = [] -%}
  {%- set schema = tables[0].schema -%}
  {%- do statements.append("create external schema if not exists " ~ schema ~ " from data catalog database '" ~ catalog_database ~ "' iam_role '" ~ role ~ "' create external database if not exists") -%}
  {%- for table in tables -%}
    {%- set columns = [] -%}
    {%- for column in table.columns.values() if column.name != "load_date" -%}
      {%- do columns.append(column.name ~ " " ~ _spectrum_type(column.data_type)) -%}
    {%- endfor -%}
    {%- set ddl = "create external table " ~ schema ~ "." ~ table.identifier ~ " (" ~ columns | join(", ") ~ ")" -%}
    {%- if table.meta.get("landing") == "extract" -%}
      {%- set ddl = ddl ~ " partitioned by (load_date date) stored as parquet location '" ~ root ~ "/landing/" ~ table.identifier ~ "/'" -%}
    {%- else -%}
      {%- set ddl = ddl ~ " stored as parquet location '" ~ root ~ "/reference/" ~ table.identifier ~ "/'" -%}
    {%- endif -%}
    {%- do statements.append("drop table if exists " ~ schema ~ "." ~ table.identifier) -%}
    {%- do statements.append(ddl) -%}
  {%- endfor -%}
  {{ return(statements) }}
{% endmacro %}

{% macro create_landing_external_tables(dry_run=false) %}
  {#-
    One-time Redshift setup: dbt run-operation create_landing_external_tables --target redshift
    With --args '{dry_run: true}' it only prints the statements (works on any target).
    Spectrum DDL cannot run inside a transaction: dbt-redshift's default autocommit runs each alone.
  -#}
  {%- for statement in landing_external_table_statements() -%}
    {%- if dry_run -%}
      {{ print(statement ~ ";") }}
    {%- else -%}
      {%- do run_query(statement) -%}
    {%- endif -%}
  {%- endfor -%}
{% endmacro %}
