{#-
  The store sales measures, defined once: (name, modeled data type) pairs, in the extract's column order.

  Both models loop over this list: stg_tpcds__store_sales casts each landing column to its modeled type,
  and fct_store_sales carries the measures through its CTEs, orders its line numbering by them and casts
  them into its contract. Add, drop or retype a measure here, and both models follow.

  YAML cannot call a macro, so the declarations in YAML and Python stay written out and
  tests/models/test_landing_contract.py holds them to this list (it renders it with dbt): the landing contract
  (orchestrator.landing.contract.SALES_MEASURES, the measures of the store sales extract's columns), the landing
  source's columns (models/staging/tpcds/_tpcds__sources.yml), the staging model's documented columns and
  the columns of its no-identical-duplicate-lines test (_tpcds__models.yml), and the fact's contract columns
  with their data types (models/marts/_marts__models.yml).

  Only the modeled type lives here. The landing type is the extract files' type, declared in the sources
  YAML: the same numeric(7,2) for the amounts, but bigint for ss_quantity (Parquet int64), which staging
  casts to integer. The two are facts about different layers (what the files hold, what the warehouse keeps),
  so neither is derived from the other; the test checks the names of both and the types of the modeled one.

  A plain list (not a per-adapter dispatch): the types are the same on DuckDB, PostgreSQL and Redshift.
-#}

{% macro store_sales_measures() %}
  {{- return([
    ('ss_quantity', 'integer'),
    ('ss_wholesale_cost', 'numeric(7, 2)'),
    ('ss_list_price', 'numeric(7, 2)'),
    ('ss_sales_price', 'numeric(7, 2)'),
    ('ss_ext_discount_amt', 'numeric(7, 2)'),
    ('ss_ext_sales_price', 'numeric(7, 2)'),
    ('ss_ext_wholesale_cost', 'numeric(7, 2)'),
    ('ss_ext_list_price', 'numeric(7, 2)'),
    ('ss_ext_tax', 'numeric(7, 2)'),
    ('ss_coupon_amt', 'numeric(7, 2)'),
    ('ss_net_paid', 'numeric(7, 2)'),
    ('ss_net_paid_inc_tax', 'numeric(7, 2)'),
    ('ss_net_profit', 'numeric(7, 2)'),
  ]) -}}
{% endmacro %}
