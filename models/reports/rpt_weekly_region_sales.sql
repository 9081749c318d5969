{{
    config(
        incremental_strategy='window_replace',
        meta={'refresh_window_column': 'week_start_date', 'refresh_window_grain': 'week'},
        dist='all',
        sort=['region', 'week_start_date'],
    )
}}

{#- A run replaces the weeks of its window plus the week after (whose change depends on them). -#}
{%- set bounds = refresh_window_bounds('week') -%}

with

sales as (

    select * from {{ ref('fct_store_sales') }}
    {% if is_incremental() -%}
    where
        ss_sold_date between {{ add_days(bounds.lower, -7) }} and {{ add_days(bounds.upper, 6) }}
    {%- endif %}

),

stores as (

    select * from {{ ref('stg_tpcds__stores') }}

),

country_regions as (

    select * from {{ ref('country_regions') }}

),

weekly as (

    select
        {{ week_start('sales.ss_sold_date') }} as week_start_date,
        coalesce(country_regions.region, 'Unknown') as region,
        count(distinct sales.ss_store_sk) as stores,
        count(distinct sales.ss_ticket_number) as orders,
        sum(sales.ss_ext_sales_price) as sales_amount,
        sum(sales.ss_net_paid) as net_paid,
        sum(sales.ss_net_profit) as net_profit
    from sales
    left join stores
        on sales.ss_store_sk = stores.s_store_sk
    left join country_regions
        on stores.s_country = country_regions.country
    group by
        {{ week_start('sales.ss_sold_date') }},
        coalesce(country_regions.region, 'Unknown')

),

compared as (

    select
        this_week.*,
        prior_week.sales_amount as prior_week_sales_amount,
        this_week.sales_amount - prior_week.sales_amount as sales_amount_change,
        case
            when prior_week.sales_amount <> 0
                then
                    100 * cast(this_week.sales_amount - prior_week.sales_amount as numeric(18, 4))
                    / prior_week.sales_amount
        end as sales_amount_change_pct
    from weekly as this_week
    left join weekly as prior_week
        on
            this_week.region = prior_week.region
            and prior_week.week_start_date = {{ add_days('this_week.week_start_date', -7) }}

),

final as (

    select
        cast(week_start_date as date) as week_start_date,
        cast(region as varchar) as region,
        cast(stores as bigint) as stores,
        cast(orders as bigint) as orders,
        cast(sales_amount as numeric(18, 2)) as sales_amount,
        cast(net_paid as numeric(18, 2)) as net_paid,
        cast(net_profit as numeric(18, 2)) as net_profit,
        cast(prior_week_sales_amount as numeric(18, 2)) as prior_week_sales_amount,
        cast(sales_amount_change as numeric(18, 2)) as sales_amount_change,
        cast(round(sales_amount_change_pct, 2) as numeric(12, 2)) as sales_amount_change_pct
    from compared
    {% if is_incremental() -%}
    where week_start_date between {{ bounds.lower }} and {{ bounds.upper }}
    {%- endif %}

)

select * from final
