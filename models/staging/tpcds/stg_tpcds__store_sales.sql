with

source as (

    select * from {{ source('tpcds', 'store_sales') }}
    where load_date between {{ refresh_window_start() }} and {{ refresh_window_end() }}

),

final as (

    select
        cast(load_date as date) as load_date,
        cast(sold_date as date) as sold_date,
        cast(i_item_id as varchar) as i_item_id,
        cast(c_customer_id as varchar) as c_customer_id,
        cast(ca_address_id as varchar) as ca_address_id,
        cast(s_store_id as varchar) as s_store_id,
        cast(ss_ticket_number as bigint) as ss_ticket_number,
        cast(ss_quantity as integer) as ss_quantity,
        cast(ss_wholesale_cost as numeric(7, 2)) as ss_wholesale_cost,
        cast(ss_list_price as numeric(7, 2)) as ss_list_price,
        cast(ss_sales_price as numeric(7, 2)) as ss_sales_price,
        cast(ss_ext_discount_amt as numeric(7, 2)) as ss_ext_discount_amt,
        cast(ss_ext_sales_price as numeric(7, 2)) as ss_ext_sales_price,
        cast(ss_ext_wholesale_cost as numeric(7, 2)) as ss_ext_wholesale_cost,
        cast(ss_ext_list_price as numeric(7, 2)) as ss_ext_list_price,
        cast(ss_ext_tax as numeric(7, 2)) as ss_ext_tax,
        cast(ss_coupon_amt as numeric(7, 2)) as ss_coupon_amt,
        cast(ss_net_paid as numeric(7, 2)) as ss_net_paid,
        cast(ss_net_paid_inc_tax as numeric(7, 2)) as ss_net_paid_inc_tax,
        cast(ss_net_profit as numeric(7, 2)) as ss_net_profit
    from source

)

select * from final
