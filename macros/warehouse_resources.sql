{#-
  The embedded warehouse's resources follow the runner's memory (first on-run-start hook).

  On DuckDB, when the runner's memory is known (STORE_SALES_MEMORY_MB, which the ECS task definition
  sets; in AWS Lambda the runtime's AWS_LAMBDA_FUNCTION_MEMORY_SIZE), the run sets
    memory_limit   = half of it (the rest is Python, dbt and the adapter, ~230 MB measured, plus what
                     DuckDB allocates outside its buffer pool: at 60 % the SF 1 backfill's runner
                     peaked at 1.55 GB of 2 GB),
    threads        = the vCPUs that memory buys (Lambda: one per 1,769 MB, at least 1, at most 6),
    temp_directory = STORE_SALES_SPILL_DIR (default: DuckDB's own, beside the database file),
  so a large window spills to disk instead of growing until the function or container is killed.
  With no memory given (a developer machine) DuckDB's defaults apply. Read at execution time, so
  the values never invalidate the partial parse. Other adapters: nothing to do.
-#}

{% macro runner_memory_mb() %}
  {%- set text = env_var("STORE_SALES_MEMORY_MB", env_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")) | trim -%}
  {%- if text == "" -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if not modules.re.fullmatch("[0-9]+", text) or text | int < 128 -%}
    {{ exceptions.raise_compiler_error("STORE_SALES_MEMORY_MB='" ~ text ~ "' must be the runner's memory in MB, a whole number of at least 128") }}
  {%- endif -%}
  {{ return(text | int) }}
{% endmacro %}

{% macro configure_warehouse_resources() %}
  {%- if execute and target.type == "duckdb" -%}
    {%- set memory = runner_memory_mb() -%}
    {%- if memory is not none -%}
      {%- set threads = [[(memory + 1768) // 1769, 1] | max, 6] | min -%}
      {%- do run_query("set memory_limit = '" ~ (memory // 2) ~ "MB'") -%}
      {%- do run_query("set threads = " ~ threads) -%}
      {%- set spill = env_var("STORE_SALES_SPILL_DIR", "") | trim -%}
      {%- if spill != "" -%}
        {%- do run_query("set temp_directory = '" ~ spill | replace("'", "''") ~ "'") -%}
      {%- endif -%}
      {{ log("warehouse resources: memory_limit " ~ (memory // 2) ~ " MB, " ~ threads ~ " thread(s)", info=false) }}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}
