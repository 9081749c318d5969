{{
    config(
        incremental_strategy='window_replace',
        event_time='week_start_date',
        meta={'refresh_window_grain': 'week'},
        dist='all',
        sort=['region', 'week_start_date'],
    )
}}

{#-
  A run replaces the weeks of its window plus the week after (whose change depends on them).
  A week's row depends only on the fact rows of that week and the week before, so a range run equals
  its day-by-day sequence and an incremental run equals a full refresh.
-#}
{%- set bounds = refresh_window_bounds('week') -%}

-- published only after the volume check of the same days: depends_on: {{ ref('mon_store_sales_volume') }}

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

regional_sales as (

    select
        sales.ss_sold_date,
        sales.ss_store_sk,
        sales.ss_ticket_number,
        sales.ss_ext_sales_price,
        sales.ss_net_paid,
        sales.ss_net_profit,
        coalesce(country_regions.region, 'Unknown') as region
    from sales
    left join stores
        on sales.ss_store_sk = stores.s_store_sk
    left join country_regions
        on stores.s_country = country_regions.country

),

daily_region_sales as (

    select
        ss_sold_date as sold_date,
        region,
        sum(ss_ext_sales_price) as sales_amount
    from regional_sales
    group by
        ss_sold_date,
        region

),

-- the days that have store sales in the fact (any store, any region)
sale_days as (

    select distinct sold_date
    from daily_region_sales

),

weekly_days_loaded as (

    select
        {{ week_start('sold_date') }} as week_start_date,
        count(*) as days_loaded,
        count(*) < 7 as is_partial_week
    from sale_days
    group by {{ week_start('sold_date') }}

),

-- like for like: a region's sales on the days d - 7 of the prior week, for each day d of the week
-- that has sales
prior_same_days as (

    select
        {{ week_start('sale_days.sold_date') }} as week_start_date,
        prior_day.region,
        sum(prior_day.sales_amount) as prior_week_sales_amount
    from sale_days
    inner join daily_region_sales as prior_day
        on prior_day.sold_date = {{ add_days('sale_days.sold_date', -7) }}
    group by
        {{ week_start('sale_days.sold_date') }},
        prior_day.region

),

weekly as (

    select
        {{ week_start('ss_sold_date') }} as week_start_date,
        region,
        count(distinct ss_store_sk) as stores,
        count(distinct ss_ticket_number) as orders,
        sum(ss_ext_sales_price) as sales_amount,
        sum(ss_net_paid) as net_paid,
        sum(ss_net_profit) as net_profit
    from regional_sales
    group by
        {{ week_start('ss_sold_date') }},
        region

),

compared as (

    select
        weekly.week_start_date,
        weekly.region,
        weekly_days_loaded.days_loaded,
        weekly_days_loaded.is_partial_week,
        weekly.stores,
        weekly.orders,
        weekly.sales_amount,
        weekly.net_paid,
        weekly.net_profit,
        prior_same_days.prior_week_sales_amount,
        weekly.sales_amount - prior_same_days.prior_week_sales_amount as sales_amount_change,
        case
            when prior_same_days.prior_week_sales_amount <> 0
                then
                    100 * cast(weekly.sales_amount - prior_same_days.prior_week_sales_amount as numeric(18, 4))
                    / prior_same_days.prior_week_sales_amount
        end as sales_amount_change_pct
    from weekly
    inner join weekly_days_loaded
        on weekly.week_start_date = weekly_days_loaded.week_start_date
    left join prior_same_days
        on
            weekly.week_start_date = prior_same_days.week_start_date
            and weekly.region = prior_same_days.region

),

final as (

    select
        cast(week_start_date as date) as week_start_date,
        cast(region as varchar) as region,
        cast(days_loaded as integer) as days_loaded,
        cast(is_partial_week as boolean) as is_partial_week,
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
