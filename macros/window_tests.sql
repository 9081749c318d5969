{#-
  Data tests scoped to the refresh window.

  dbt wraps the tested relation of every generic test in `get_where_subquery`; this project's version
  adds, for a model whose meta declares `window_tests`, a filter to the rows the window wrote and to
  every row that shares a key with them:

      config:
        meta:
          window_tests:
            column: ca_last_load_date            # the window wrote the rows whose column is in [start, end]
            keys: [ca_address_sk, ca_address_id] # ... and the tests also see every row sharing one of these keys

  So a daily run checks a day, not the history: `not_null`, `accepted_range`, `unknown_member_count` and
  the fact's `relationships` see the window's rows; `unique` on a key, `scd2_no_overlap` and
  `scd2_one_open_version` see the window's rows plus every other row (other versions) of the same keys,
  which is exactly where a window can break those cross-row rules (a new surrogate key colliding with an
  old one, a new version overlapping an old one, a second open version).

  Whole-table tests run when STORE_SALES_FULL_TESTS is `true` or `1` (`run --full-tests`), when no window is
  given (`dbt test`, `dbt build` without the window variables), and for models without `window_tests`.
  The test's own `where` config still applies, combined with `and`.
-#}

{% macro full_tests_requested() %}
  {#- true, false, 1 or 0 (any case), as orchestrator/settings.py accepts; empty or unset: false -#}
  {%- set text = env_var("STORE_SALES_FULL_TESTS", "") | trim -%}
  {%- if text | lower not in ["", "true", "false", "1", "0"] -%}
    {{ exceptions.raise_compiler_error("STORE_SALES_FULL_TESTS='" ~ text ~ "' must be true, false, 1 or 0") }}
  {%- endif -%}
  {{ return(text | lower in ["true", "1"]) }}
{% endmacro %}

{% macro window_test_filter(model_node, relation) %}
  {#- The SQL predicate limiting a test of `model_node` (built as `relation`) to its window's rows; none for a whole-table test. -#}
  {%- set spec = model_node.config.meta.get("window_tests") -%}
  {%- if spec is none or full_tests_requested() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set window = refresh_window() -%}
  {%- if not window.given -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set written = spec["column"] ~ " between " ~ _date_literal(window.start) ~ " and " ~ _date_literal(window.end) -%}
  {%- set keys = spec.get("keys") or [] -%}
  {%- if keys | length == 0 -%}
    {{ return(written) }}
  {%- endif -%}
  {%- set shared = [] -%}
  {%- for key in keys -%}
    {%- do shared.append(key ~ " in (select " ~ key ~ " from " ~ relation ~ " where " ~ written ~ ")") -%}
  {%- endfor -%}
  {{ return("(" ~ shared | join(" or ") ~ ")") }}
{% endmacro %}

{% macro get_where_subquery(relation) %}
  {%- set predicates = [] -%}
  {%- set where = config.get("where") -%}
  {%- if where -%}
    {%- do predicates.append("(" ~ where ~ ")") -%}
  {%- endif -%}
  {%- if execute and model.get("attached_node") -%}
    {%- set scope = window_test_filter(graph.nodes[model.attached_node], relation) -%}
    {%- if scope is not none -%}
      {%- do predicates.append(scope) -%}
    {%- endif -%}
  {%- endif -%}
  {%- if predicates | length == 0 -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set filtered -%}
    (select * from {{ relation }} where {{ predicates | join(" and ") }}) dbt_subquery
  {%- endset -%}
  {{ return(filtered) }}
{% endmacro %}
