{#- Cross-database helpers (DuckDB, PostgreSQL, Redshift). -#}

{% macro add_days(date_expression, days) %}
  {#- A date plus a (possibly negative) number of days, as a date. -#}
  {{- return(adapter.dispatch("add_days", "store_sales")(date_expression, days)) -}}
{% endmacro %}

{% macro default__add_days(date_expression, days) -%}
  ({{ date_expression }} + ({{ days }}))
{%- endmacro %}

{% macro redshift__add_days(date_expression, days) -%}
  cast(dateadd(day, {{ days }}, {{ date_expression }}) as date)
{%- endmacro %}

{% macro add_years(date_expression, years) %}
  {#- The same calendar date `years` years later (earlier when negative), as a date; 29 February lands on the 28th. -#}
  {{- return(adapter.dispatch("add_years", "store_sales")(date_expression, years)) -}}
{% endmacro %}

{% macro default__add_years(date_expression, years) -%}
  cast({{ date_expression }} + interval '{{ years }} year' as date)
{%- endmacro %}

{% macro redshift__add_years(date_expression, years) -%}
  cast(dateadd(year, {{ years }}, {{ date_expression }}) as date)
{%- endmacro %}

{% macro week_start(date_expression) %}
  {#- The Monday of the ISO week of a date, as a date. -#}
  {{- return(adapter.dispatch("week_start", "store_sales")(date_expression)) -}}
{% endmacro %}

{% macro default__week_start(date_expression) -%}
  cast(date_trunc('week', {{ date_expression }}) as date)
{%- endmacro %}

{% macro null_safe_equal(left, right) -%}
  {#- True when both are equal or both are NULL; never NULL (portable `is not distinct from`). -#}
  (coalesce({{ left }} = {{ right }}, false) or ({{ left }} is null and {{ right }} is null))
{%- endmacro %}
