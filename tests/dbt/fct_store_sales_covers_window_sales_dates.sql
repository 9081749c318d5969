{#-
  Validation (the workshop's last step): the fact has rows for every date of the refresh window that
  has sales in the extracts. Fails with each such date that has no fact row.
  Given a window, the fact is read for the window only, with literal dates a warehouse can prune by (a
  daily run reads one day of the fact, not its history): the same verdict, because the window's sales
  dates are its load dates (stg_tpcds__store_sales_sold_on_load_date gates this test). Without a window
  (`dbt test`), the staging table's dates are checked against the whole fact.
-#}
with

window_sales as (

    select * from {{ ref('stg_tpcds__store_sales') }}

),

facts as (

    select * from {{ ref('fct_store_sales') }}
    {%- if refresh_window().given %}
    where ss_sold_date between {{ refresh_window_start() }} and {{ refresh_window_end() }}
    {%- endif %}

),

sales_dates as (

    select distinct sold_date
    from window_sales

),

final as (

    select sales_dates.sold_date
    from sales_dates
    left join facts
        on sales_dates.sold_date = facts.ss_sold_date
    where facts.ss_sold_date is null

)

select * from final
