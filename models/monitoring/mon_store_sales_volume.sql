{{
    config(
        incremental_strategy='window_replace',
        event_time='sold_date',
        dist='all',
        sort=['sold_date', 'measure'],
    )
}}

{#-
    Each day of the window against the range its recent history predicts, for three measures; see the
    `mon_store_sales_volume` docs block for the method and why. Reads a bounded history: the window and
    the year and five weeks before it, whatever the length of the history.
-#}
{%- set bounds = refresh_window_bounds('day') -%}
{%- set tolerance = var('volume_tolerance') -%}
{%- set history_start = add_days(add_years(bounds.lower, -1), -35) -%}

with

sales as (

    select * from {{ ref('fct_store_sales') }}
    where ss_sold_date between {{ history_start }} and {{ bounds.upper }}

),

dates as (

    select * from {{ ref('stg_tpcds__dates') }}
    where d_date between {{ history_start }} and {{ bounds.upper }}

),

daily_sales as (

    select
        ss_sold_date as sold_date,
        count(distinct ss_ticket_number) as orders,
        count(*) as sales_lines,
        sum(ss_net_paid) as net_paid
    from sales
    group by ss_sold_date

),

history as (

    select
        dates.d_date as sold_date,
        cast(coalesce(daily_sales.orders, 0) as double precision) as orders,
        cast(coalesce(daily_sales.sales_lines, 0) as double precision) as sales_lines,
        cast(coalesce(daily_sales.net_paid, 0) as double precision) as net_paid
    from dates
    left join daily_sales
        on dates.d_date = daily_sales.sold_date
    -- before the first loaded day there is no history, not a history of days without sales
    where dates.d_date >= (select min(first_sales.sold_date) from daily_sales as first_sales)

),

window_days as (

    select
        sold_date,
        orders,
        sales_lines,
        net_paid,
        {{ add_years('sold_date', -1) }} as last_year_date
    from history
    where sold_date between {{ bounds.lower }} and {{ bounds.upper }}

),

recent_lines_per_order as (

    -- Redshift allows one ORDER BY per query block for its sort-based aggregates: one rate per block
    select
        window_days.sold_date,
        count(*) as rate_days,
        percentile_cont(0.5) within group (order by history.sales_lines / history.orders) as lines_per_order
    from window_days
    inner join history
        on
            history.sold_date between {{ add_days('window_days.sold_date', -28) }}
            and {{ add_days('window_days.sold_date', -1) }}
    where history.orders > 0
    group by window_days.sold_date

),

recent_net_paid_per_line as (

    select
        window_days.sold_date,
        percentile_cont(0.5) within group (order by history.net_paid / history.sales_lines) as net_paid_per_line
    from window_days
    inner join history
        on
            history.sold_date between {{ add_days('window_days.sold_date', -28) }}
            and {{ add_days('window_days.sold_date', -1) }}
    where history.sales_lines > 0
    group by window_days.sold_date

),

same_weekday_orders as (

    -- orders on the same weekday one to four weeks before
    select
        window_days.sold_date,
        percentile_cont(0.5) within group (order by recent.orders) as recent_orders,
        count(*) as recent_days
    from window_days
    inner join history as recent
        on recent.sold_date in (
            {{ add_days('window_days.sold_date', -7) }},
            {{ add_days('window_days.sold_date', -14) }},
            {{ add_days('window_days.sold_date', -21) }},
            {{ add_days('window_days.sold_date', -28) }}
        )
    group by window_days.sold_date

),

last_year_orders as (

    select
        window_days.sold_date,
        percentile_cont(0.5) within group (order by last_year.orders) as last_year_day_orders,
        count(*) as last_year_days
    from window_days
    inner join history as last_year
        on
            last_year.sold_date between {{ add_days('window_days.last_year_date', -1) }}
            and {{ add_days('window_days.last_year_date', 1) }}
    group by window_days.sold_date

),

last_year_before_orders as (

    select
        window_days.sold_date,
        percentile_cont(0.5) within group (order by earlier.orders) as last_year_before_orders,
        count(*) as last_year_before_days
    from window_days
    inner join history as earlier
        on earlier.sold_date in (
            {{ add_days('window_days.last_year_date', -7) }},
            {{ add_days('window_days.last_year_date', -14) }},
            {{ add_days('window_days.last_year_date', -21) }},
            {{ add_days('window_days.last_year_date', -28) }}
        )
    group by window_days.sold_date

),

expectations as (

    select
        window_days.sold_date,
        window_days.orders,
        window_days.sales_lines,
        window_days.net_paid,
        case
            when
                same_weekday_orders.recent_days = 4
                and last_year_orders.last_year_days = 3
                and last_year_before_orders.last_year_before_days = 4
                and last_year_before_orders.last_year_before_orders > 0
                then
                    same_weekday_orders.recent_orders * last_year_orders.last_year_day_orders
                    / last_year_before_orders.last_year_before_orders
        end as expected_orders,
        case
            when recent_lines_per_order.rate_days >= 20
                then window_days.orders * recent_lines_per_order.lines_per_order
        end as expected_sales_lines,
        case
            when recent_lines_per_order.rate_days >= 20
                then window_days.sales_lines * recent_net_paid_per_line.net_paid_per_line
        end as expected_net_paid
    from window_days
    left join recent_lines_per_order
        on window_days.sold_date = recent_lines_per_order.sold_date
    left join recent_net_paid_per_line
        on window_days.sold_date = recent_net_paid_per_line.sold_date
    left join same_weekday_orders
        on window_days.sold_date = same_weekday_orders.sold_date
    left join last_year_orders
        on window_days.sold_date = last_year_orders.sold_date
    left join last_year_before_orders
        on window_days.sold_date = last_year_before_orders.sold_date

),

measures as (

    select
        sold_date,
        'orders' as measure,
        orders as measure_value,
        expected_orders as expected_value,
        {{ tolerance['orders'] }} as tolerance
    from expectations
    union all
    select
        sold_date,
        'sales_lines' as measure,
        sales_lines as measure_value,
        expected_sales_lines as expected_value,
        {{ tolerance['sales_lines'] }} as tolerance
    from expectations
    union all
    select
        sold_date,
        'net_paid' as measure,
        net_paid as measure_value,
        expected_net_paid as expected_value,
        {{ tolerance['net_paid'] }} as tolerance
    from expectations

),

ranges as (

    select
        sold_date,
        measure,
        measure_value,
        expected_value,
        expected_value * exp(-tolerance) as lower_bound,
        expected_value * exp(tolerance) as upper_bound
    from measures

),

final as (

    select
        cast(sold_date as date) as sold_date,
        cast(measure as varchar(16)) as measure,
        cast(measure_value as numeric(18, 2)) as measure_value,
        cast(expected_value as numeric(18, 2)) as expected_value,
        cast(lower_bound as numeric(18, 2)) as lower_bound,
        cast(upper_bound as numeric(18, 2)) as upper_bound,
        cast(
            case
                when expected_value is null then 'no history'
                when measure_value < lower_bound or measure_value > upper_bound then 'anomaly'
                else 'ok'
            end as varchar(16)
        ) as volume_status,
        cast(
            case
                when expected_value is not null and (measure_value < lower_bound or measure_value > upper_bound)
                    then
                        cast(sold_date as varchar(10)) || ' ' || measure || ' '
                        || cast(cast(round(measure_value) as bigint) as varchar(24))
                        || ' outside the expected '
                        || cast(cast(round(lower_bound) as bigint) as varchar(24)) || '..'
                        || cast(cast(round(upper_bound) as bigint) as varchar(24))
            end as varchar(256)
        ) as anomaly
    from ranges

)

select * from final
