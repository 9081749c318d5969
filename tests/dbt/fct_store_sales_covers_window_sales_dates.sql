{#-
  Validation (the workshop's last step): the fact has rows for every date of the refresh window that
  has sales in the extracts. Fails with each such date that has no fact row.
-#}
with

window_sales as (

    select * from {{ ref('stg_tpcds__store_sales') }}

),

facts as (

    select * from {{ ref('fct_store_sales') }}

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
