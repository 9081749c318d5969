{{
    config(
        incremental_strategy='window_replace',
        event_time='sold_date',
        dist='all',
        sort=['s_state', 's_city', 'sold_date'],
    )
}}

{%- set bounds = refresh_window_bounds('day') -%}

-- published only after the volume check of the same days: depends_on: {{ ref('mon_store_sales_volume') }}

with

sales as (

    select * from {{ ref('fct_store_sales') }}
    {% if is_incremental() -%}
    where ss_sold_date between {{ bounds.lower }} and {{ bounds.upper }}
    {%- endif %}

),

stores as (

    select * from {{ ref('stg_tpcds__stores') }}

),

daily as (

    select
        ss_sold_date,
        ss_store_sk,
        count(distinct ss_ticket_number) as orders,
        count(*) as sales_lines,
        sum(ss_quantity) as quantity,
        sum(ss_ext_sales_price) as sales_amount,
        sum(ss_net_paid) as net_paid,
        sum(ss_net_profit) as net_profit
    from sales
    group by ss_sold_date, ss_store_sk

),

final as (

    select
        cast(daily.ss_sold_date as date) as sold_date,
        cast(daily.ss_store_sk as integer) as s_store_sk,
        cast(stores.s_store_id as varchar) as s_store_id,
        cast(stores.s_store_name as varchar) as s_store_name,
        cast(stores.s_city as varchar) as s_city,
        cast(stores.s_county as varchar) as s_county,
        cast(stores.s_state as varchar) as s_state,
        cast(daily.orders as bigint) as orders,
        cast(daily.sales_lines as bigint) as sales_lines,
        cast(daily.quantity as bigint) as quantity,
        cast(daily.sales_amount as numeric(18, 2)) as sales_amount,
        cast(daily.net_paid as numeric(18, 2)) as net_paid,
        cast(daily.net_profit as numeric(18, 2)) as net_profit
    from daily
    left join stores
        on daily.ss_store_sk = stores.s_store_sk

)

select * from final
