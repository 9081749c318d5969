{#-
  The refresh window: the inclusive range of load dates [start, end] a run processes.

  It comes from the environment variables STORE_SALES_WINDOW_START and STORE_SALES_WINDOW_END
  (YYYY-MM-DD; the end defaults to the start, a one-day run), or from dbt's own window flags,
  `--event-time-start S --event-time-end E`: whole days, the end exclusive, so they load [S, E - 1 day].
  Both are read at execution time (inside `if execute`): dbt never records them while parsing, so a new
  date keeps the partial parse valid. Given both ways, they must name the same days.

  `dbt run`, `dbt build` and `dbt retry` need the window: without one, run and build catch up on DuckDB
  (every landed day after the last loaded one, pinned by the first on-run-start hook: macros/catch_up.sql);
  otherwise `validate_refresh_window()` stops them before any model runs. Every command stops on a malformed window.
  Commands that load nothing (compile, docs generate, show, ls, test, seed, run-operation) accept a
  missing window and render the empty placeholder window 0001-01-01..0001-01-01.
-#}

{% macro _parse_window_date(name, text) %}
  {%- set cleaned = text | trim -%}
  {%- set example = "write it as YYYY-MM-DD, e.g. " ~ name ~ "=2002-12-31" -%}
  {%- if not modules.re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", cleaned) -%}
    {{ exceptions.raise_compiler_error("refresh window: " ~ name ~ "='" ~ text ~ "' is not a date: " ~ example) }}
  {%- endif -%}
  {%- set year = cleaned[0:4] | int -%}
  {%- set month = cleaned[5:7] | int -%}
  {%- set day = cleaned[8:10] | int -%}
  {%- if year < 1 or year > 9998 or month < 1 or month > 12 or day < 1 -%}
    {{ exceptions.raise_compiler_error("refresh window: " ~ name ~ "='" ~ text ~ "' is not a valid date: " ~ example) }}
  {%- endif -%}
  {%- set next_month = modules.datetime.date(year + (month // 12), (month % 12) + 1, 1) -%}
  {%- set days_in_month = (next_month - modules.datetime.date(year, month, 1)).days -%}
  {%- if day > days_in_month -%}
    {{ exceptions.raise_compiler_error("refresh window: " ~ name ~ "='" ~ text ~ "' is not a valid date (the month has " ~ days_in_month ~ " days): " ~ example) }}
  {%- endif -%}
  {{ return(modules.datetime.date(year, month, day)) }}
{% endmacro %}

{% macro refresh_window_required() %}
  {{ return(flags.WHICH in ["run", "build", "retry"]) }}
{% endmacro %}

{% macro refresh_window_in_environment() %}
  {#- Did the caller give a window (either variable, or dbt's event-time flags)? Without one, run and build
      catch up on DuckDB. -#}
  {%- set in_variables = env_var("STORE_SALES_WINDOW_START", "") | trim != "" or env_var("STORE_SALES_WINDOW_END", "") | trim != "" -%}
  {{- return(in_variables or event_time_flags_window() is not none) -}}
{% endmacro %}

{% macro _event_time_flag(name) %}
  {#- One of dbt's --event-time-start/--event-time-end as a date; a window is whole days, so only midnight. -#}
  {%- set text = (invocation_args_dict.get(name) or "") | string | trim -%}
  {%- if text == "" -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set flag = "--" ~ name | replace("_", "-") -%}
  {%- if not modules.re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00(:00)?([+]00:00|Z)?)?", text) -%}
    {{ exceptions.raise_compiler_error("refresh window: " ~ flag ~ " " ~ text ~ " is not a whole day: the window is made of load dates, give " ~ flag ~ " YYYY-MM-DD") }}
  {%- endif -%}
  {{ return(_parse_window_date(flag, text[0:10])) }}
{% endmacro %}

{% macro event_time_flags_window() %}
  {#- dbt's window flags, `--event-time-start S --event-time-end E` (E exclusive), as {"start": S, "end": E - 1
      day}; none when they are not given. dbt itself refuses one without the other, and S not before E. -#}
  {%- set start = _event_time_flag("event_time_start") -%}
  {%- if start is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set end = _event_time_flag("event_time_end") -%}
  {{ return({"start": start, "end": end - modules.datetime.timedelta(days=1)}) }}
{% endmacro %}

{% macro refresh_window() %}
  {#- Returns {"start": date, "end": date, "given": bool}; raises on a malformed or reversed window. -#}
  {%- set placeholder = modules.datetime.date(1, 1, 1) -%}
  {%- if not execute -%}
    {{ return({"start": placeholder, "end": placeholder, "given": false}) }}
  {%- endif -%}
  {%- set start_text = env_var("STORE_SALES_WINDOW_START", "") -%}
  {%- set end_text = env_var("STORE_SALES_WINDOW_END", "") -%}
  {%- set flagged = event_time_flags_window() -%}
  {%- if start_text | trim == "" -%}
    {%- if end_text | trim != "" -%}
      {{ exceptions.raise_compiler_error("refresh window: STORE_SALES_WINDOW_END='" ~ end_text ~ "' is set but STORE_SALES_WINDOW_START is not: set both (YYYY-MM-DD), or only the start for a one-day run") }}
    {%- endif -%}
    {%- if flagged is not none -%}
      {{ return({"start": flagged.start, "end": flagged.end, "given": true}) }}
    {%- endif -%}
    {%- if catch_up_enabled() -%}
      {%- set pinned = pinned_catch_up_window() -%}
      {%- if pinned is not none -%}
        {{ return(pinned) }}
      {%- endif -%}
    {%- endif -%}
    {{ return({"start": placeholder, "end": placeholder, "given": false}) }}
  {%- endif -%}
  {%- set start = _parse_window_date("STORE_SALES_WINDOW_START", start_text) -%}
  {%- set end = _parse_window_date("STORE_SALES_WINDOW_END", end_text) if end_text | trim != "" else start -%}
  {%- if end < start -%}
    {{ exceptions.raise_compiler_error("refresh window is reversed: STORE_SALES_WINDOW_END=" ~ end ~ " is before STORE_SALES_WINDOW_START=" ~ start ~ "; swap them") }}
  {%- endif -%}
  {%- if flagged is not none and (flagged.start != start or flagged.end != end) -%}
    {{ exceptions.raise_compiler_error("refresh window given twice, differently: STORE_SALES_WINDOW_START/END say " ~ start ~ " .. " ~ end ~ ", --event-time-start/--event-time-end say " ~ flagged.start ~ " .. " ~ flagged.end ~ " (the end exclusive): give it one way") }}
  {%- endif -%}
  {{ return({"start": start, "end": end, "given": true}) }}
{% endmacro %}

{% macro validate_refresh_window() %}
  {#- First on-run-start hook: fails fast, before any model SQL runs; without a window on DuckDB, pins the
      catch-up window; a plain run (not an execution's task) opens its ledger row (macros/catch_up.sql).
      Renders no SQL. -#}
  {%- if execute -%}
    {%- if not refresh_window_in_environment() and catch_up_enabled() -%}
      {%- do pin_catch_up_window() -%}
    {%- endif -%}
    {%- if refresh_window_required() and invocation_args_dict.get("sample") -%}
      {{ exceptions.raise_compiler_error("--sample is refused for `dbt " ~ flags.WHICH ~ "`: it would filter the reads of the event_time models (the fact, the monitor's history), and the window_replace models would then replace their window's rows from sampled inputs; give a short window instead (--event-time-start D --event-time-end D+1)") }}
    {%- endif -%}
    {%- set window = refresh_window() -%}
    {%- if not window.given and refresh_window_required() -%}
      {{ exceptions.raise_compiler_error("refresh window missing: `dbt " ~ flags.WHICH ~ "` on target " ~ target.name ~ " needs STORE_SALES_WINDOW_START (and optionally STORE_SALES_WINDOW_END), as YYYY-MM-DD, e.g. STORE_SALES_WINDOW_START=2002-12-31, or dbt's --event-time-start 2002-12-31 --event-time-end 2003-01-01 (end exclusive); `python -m orchestrator run` without a date catches up on any target") }}
    {%- endif -%}
    {%- if window.given -%}
      {{ log("refresh window: " ~ window.start ~ " .. " ~ window.end, info=true) }}
      {%- if refresh_window_in_environment() and plain_run_recorded() -%}
        {%- do open_plain_run(window) -%}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}

{% macro _date_literal(day) %}
  {{- return("cast('" ~ day.isoformat() ~ "' as date)") -}}
{% endmacro %}

{% macro refresh_window_start() %}
  {{- return(_date_literal(refresh_window().start)) -}}
{% endmacro %}

{% macro refresh_window_end() %}
  {{- return(_date_literal(refresh_window().end)) -}}
{% endmacro %}

{% macro refresh_window_bounds(grain="day") %}
  {#-
    The range of a model's window column that a run replaces, as SQL date literals:
    grain "day": [start, end]; grain "week": [Monday of start's week, Monday after end's week]
    (one week more, because that week's week-over-week change depends on the window's last week).
  -#}
  {%- set window = refresh_window() -%}
  {%- if grain == "day" -%}
    {{ return({"lower": _date_literal(window.start), "upper": _date_literal(window.end)}) }}
  {%- elif grain == "week" -%}
    {%- set lower = window.start - modules.datetime.timedelta(days=window.start.weekday()) -%}
    {%- set upper = window.end - modules.datetime.timedelta(days=window.end.weekday()) + modules.datetime.timedelta(days=7) -%}
    {{ return({"lower": _date_literal(lower), "upper": _date_literal(upper)}) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("refresh_window_bounds: grain '" ~ grain ~ "' is not supported: use 'day' or 'week'") }}
  {%- endif -%}
{% endmacro %}
