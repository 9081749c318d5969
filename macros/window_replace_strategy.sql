{#-
  Custom incremental strategy `window_replace`: in one transaction, delete every row of the target whose
  `event_time` column lies in the run's window bounds, then insert the new rows of that range.
  Unlike delete+insert on a date key, a day with no new rows is emptied too (no stale rows survive),
  and rerunning a window replaces exactly the same rows (idempotent).

  Model config: event_time (required), dbt's own name for the column that dates a row, which `--sample`
  and dbt's event-time filtering read too; in meta, refresh_window_grain ("day" or "week", default "day").
-#}
{% macro get_incremental_window_replace_sql(arg_dict) %}
  {%- set column = config.get("event_time") -%}
  {%- if not column -%}
    {{ exceptions.raise_compiler_error("window_replace: model " ~ model.name ~ " declares no event_time: set config(event_time='<its date column>'), the column whose window rows it replaces") }}
  {%- endif -%}
  {%- set bounds = refresh_window_bounds(config.meta_get("refresh_window_grain", "day")) -%}
  {%- set target = arg_dict["target_relation"] -%}
  {%- set source = arg_dict["temp_relation"] -%}
  {%- set columns_csv = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
  delete from {{ target }}
  where {{ column }} between {{ bounds.lower }} and {{ bounds.upper }};

  insert into {{ target }} ({{ columns_csv }})
  select {{ columns_csv }}
  from {{ source }}
  where {{ column }} between {{ bounds.lower }} and {{ bounds.upper }}
{% endmacro %}
