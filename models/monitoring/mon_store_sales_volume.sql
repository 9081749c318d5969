{{
    config(
        incremental_strategy='window_replace',
        event_time='sold_date',
        dist='all',
        sort=['sold_date', 'measure'],
    )
}}

{#-
    Each day of the window against the range its history predicts, for three measures of the whole
    day and the orders of each store; see the `mon_store_sales_volume` docs block for the method and why.
    Reads a bounded history: the window and the year and five weeks before it, whatever its length.
-#}
{%- set bounds = refresh_window_bounds('day') -%}
{%- set tolerance = var('volume_tolerance') -%}
{%- set sigmas = var('volume_noise_sigmas') -%}
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

stores as (

    select * from {{ ref('stg_tpcds__stores') }}

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

recent_history as (

    -- the 28 days before each day, as four weeks numbered back from it (week 1: the seven days before)
    {%- for week in range(1, 5) %}
    select
        window_days.sold_date,
        {{ week }} as week_before,
        history.sold_date as history_date,
        history.orders,
        history.sales_lines,
        history.net_paid
    from window_days
    inner join history
        on
            history.sold_date between {{ add_days('window_days.sold_date', -7 * week) }}
            and {{ add_days('window_days.sold_date', -7 * week + 6) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

recent_lines_per_order as (

    -- Redshift allows one ORDER BY per query block for its sort-based aggregates: one rate per block
    select
        sold_date,
        count(*) as rate_days,
        percentile_cont(0.5) within group (order by sales_lines / orders) as lines_per_order
    from recent_history
    where orders > 0
    group by sold_date

),

recent_net_paid_per_line as (

    select
        sold_date,
        percentile_cont(0.5) within group (order by net_paid / sales_lines) as net_paid_per_line
    from recent_history
    where sales_lines > 0
    group by sold_date

),

net_paid_per_line_spread as (

    -- how far a day's net paid per line strays from that median, as the median absolute log ratio (the
    -- noise of an average over the day's lines: large when a day has few)
    select
        recent_history.sold_date,
        percentile_cont(0.5) within group (
            order by abs(ln(
                recent_history.net_paid / recent_history.sales_lines / recent_net_paid_per_line.net_paid_per_line
            ))
        ) as spread
    from recent_history
    inner join recent_net_paid_per_line
        on recent_history.sold_date = recent_net_paid_per_line.sold_date
    where
        recent_history.sales_lines > 0
        and recent_history.net_paid > 0
        and recent_net_paid_per_line.net_paid_per_line > 0
    group by recent_history.sold_date

),

week_ratios as (

    -- in each whole week (seven days of history), each day's orders over the week's average day
    select
        sold_date,
        history_date,
        orders / nullif(avg(orders) over (partition by sold_date, week_before), 0) as week_ratio,
        count(*) over (partition by sold_date, week_before) as days_in_week
    from recent_history

),

weekday_factors as (

    -- a weekday's factor: the median of its ratios over those weeks, so from three whole weeks on a season
    -- step inside one week, or a day without sales, moves one ratio and not the factor
    select
        sold_date,
        extract(dow from history_date) as day_of_week,
        percentile_cont(0.5) within group (order by week_ratio) as weekday_factor
    from week_ratios
    where days_in_week = 7 and week_ratio is not null
    group by sold_date, extract(dow from history_date)

),

weekday_shares as (

    -- the factors scaled to average 1 over the week (all about 1 where the weekday does not matter)
    select
        sold_date,
        day_of_week,
        weekday_factor / nullif(avg(weekday_factor) over (partition by sold_date), 0) as weekday_factor
    from weekday_factors

),

recent_adjusted_orders as (

    -- the median of the three days before, each divided by its weekday's factor: an average day's orders
    select
        window_days.sold_date,
        percentile_cont(0.5) within group (
            order by history.orders / weekday_shares.weekday_factor
        ) as average_day_orders
    from window_days
    inner join history
        on
            history.sold_date between {{ add_days('window_days.sold_date', -3) }}
            and {{ add_days('window_days.sold_date', -1) }}
    inner join weekday_shares
        on
            window_days.sold_date = weekday_shares.sold_date
            and extract(dow from history.sold_date) = weekday_shares.day_of_week
    where weekday_shares.weekday_factor > 0
    group by window_days.sold_date

),

recent_orders as (

    -- the orders of the 28 days before
    select
        sold_date,
        sum(orders) as recent_orders,
        count(*) as recent_days
    from recent_history
    group by sold_date

),

last_year_orders as (

    -- the median of the three days around the same date last year (another weekday), each divided by the
    -- factor its weekday has in the four weeks before the judged day: an average day's orders then (a day
    -- whose weekday sells nothing now has no ratio)
    select
        window_days.sold_date,
        percentile_cont(0.5) within group (
            order by last_year.orders / nullif(weekday_shares.weekday_factor, 0)
        ) as last_year_average_day_orders,
        count(*) as last_year_days
    from window_days
    inner join history as last_year
        on
            last_year.sold_date between {{ add_days('window_days.last_year_date', -1) }}
            and {{ add_days('window_days.last_year_date', 1) }}
    left join weekday_shares
        on
            window_days.sold_date = weekday_shares.sold_date
            and extract(dow from last_year.sold_date) = weekday_shares.day_of_week
    group by window_days.sold_date

),

last_year_before_orders as (

    -- the orders of the 28 days before the same date last year
    select
        window_days.sold_date,
        sum(earlier.orders) as last_year_before_orders,
        count(*) as last_year_before_days
    from window_days
    inner join history as earlier
        on
            earlier.sold_date between {{ add_days('window_days.last_year_date', -28) }}
            and {{ add_days('window_days.last_year_date', -1) }}
    group by window_days.sold_date

),

store_orders as (

    -- the orders of each known store (the unknown member -1 is judged only through the day's totals)
    select
        sales.ss_sold_date as sold_date,
        stores.s_store_id as store_id,
        count(distinct sales.ss_ticket_number) as orders
    from sales
    inner join stores
        on sales.ss_store_sk = stores.s_store_sk
    group by sales.ss_sold_date, stores.s_store_id

),

selling_stores as (

    select distinct store_id from store_orders

),

store_history as (

    -- every store that sold in the history, on every day of it (0 on a day without its sales)
    select
        history.sold_date,
        selling_stores.store_id,
        cast(coalesce(store_orders.orders, 0) as double precision) as orders
    from history
    cross join selling_stores
    left join store_orders
        on
            history.sold_date = store_orders.sold_date
            and selling_stores.store_id = store_orders.store_id

),

store_shares as (

    -- each store's share of the known stores' orders in the 28 days before
    select
        window_days.sold_date,
        store_history.store_id,
        count(*) as share_days,
        sum(store_history.orders)
        / nullif(sum(sum(store_history.orders)) over (partition by window_days.sold_date), 0) as recent_share
    from window_days
    inner join store_history
        on
            store_history.sold_date between {{ add_days('window_days.sold_date', -28) }}
            and {{ add_days('window_days.sold_date', -1) }}
    group by window_days.sold_date, store_history.store_id

),

expectations as (

    select
        window_days.sold_date,
        window_days.orders,
        window_days.sales_lines,
        window_days.net_paid,
        net_paid_per_line_spread.spread as net_paid_spread,
        case
            when
                recent_orders.recent_days = 28
                and last_year_orders.last_year_days = 3
                and last_year_orders.last_year_average_day_orders is not null
                and last_year_before_orders.last_year_before_days = 28
                and last_year_before_orders.last_year_before_orders > 0
                then
                    last_year_orders.last_year_average_day_orders * weekday_shares.weekday_factor
                    * recent_orders.recent_orders / last_year_before_orders.last_year_before_orders
            else recent_adjusted_orders.average_day_orders * weekday_shares.weekday_factor
        end as expected_orders,
        case
            when recent_lines_per_order.rate_days >= 7
                then window_days.orders * recent_lines_per_order.lines_per_order
        end as expected_sales_lines,
        case
            when recent_lines_per_order.rate_days >= 7
                then window_days.sales_lines * recent_net_paid_per_line.net_paid_per_line
        end as expected_net_paid
    from window_days
    left join recent_lines_per_order
        on window_days.sold_date = recent_lines_per_order.sold_date
    left join recent_net_paid_per_line
        on window_days.sold_date = recent_net_paid_per_line.sold_date
    left join net_paid_per_line_spread
        on window_days.sold_date = net_paid_per_line_spread.sold_date
    left join recent_adjusted_orders
        on window_days.sold_date = recent_adjusted_orders.sold_date
    left join weekday_shares
        on
            window_days.sold_date = weekday_shares.sold_date
            and extract(dow from window_days.sold_date) = weekday_shares.day_of_week
    left join recent_orders
        on window_days.sold_date = recent_orders.sold_date
    left join last_year_orders
        on window_days.sold_date = last_year_orders.sold_date
    left join last_year_before_orders
        on window_days.sold_date = last_year_before_orders.sold_date

),

store_days as (

    -- each window day's stores: its orders and its recent share; a store that sold neither that day nor in
    -- the 28 days before (closed) is left out
    select
        store_history.sold_date,
        store_history.store_id,
        store_history.orders,
        store_shares.share_days,
        store_shares.recent_share
    from store_history
    inner join store_shares
        on
            store_history.sold_date = store_shares.sold_date
            and store_history.store_id = store_shares.store_id
    where store_history.orders > 0 or store_shares.recent_share > 0

),

store_day_scales as (

    -- the day's orders at full strength, read from the stores that sold: the median of their orders over
    -- their recent shares, so one store missing or collapsing does not move it
    select
        sold_date,
        percentile_cont(0.5) within group (order by orders / recent_share) as day_scale
    from store_days
    where orders > 0 and recent_share > 0 and share_days >= 7
    group by sold_date

),

store_expectations as (

    -- a store at its recent share of that scale: judged against the others, which are not flagged when
    -- one store is missing (when no store sold, or for a single store, only the day's totals judge)
    select
        store_days.sold_date,
        store_days.store_id,
        store_days.orders,
        case
            when store_days.share_days >= 7 and store_days.recent_share > 0
                then store_day_scales.day_scale * store_days.recent_share
        end as expected_orders
    from store_days
    left join store_day_scales
        on store_days.sold_date = store_day_scales.sold_date

),

measures as (

    select
        sold_date,
        'orders' as measure,
        'all stores' as store_scope,
        orders as measure_value,
        expected_orders as expected_value,
        {{ tolerance['orders'] }} as tolerance,
        cast(null as double precision) as spread
    from expectations
    union all
    select
        sold_date,
        'sales_lines' as measure,
        'all stores' as store_scope,
        sales_lines as measure_value,
        expected_sales_lines as expected_value,
        {{ tolerance['sales_lines'] }} as tolerance,
        cast(null as double precision) as spread
    from expectations
    union all
    select
        sold_date,
        'net_paid' as measure,
        'all stores' as store_scope,
        net_paid as measure_value,
        expected_net_paid as expected_value,
        {{ tolerance['net_paid'] }} as tolerance,
        net_paid_spread as spread
    from expectations
    union all
    select
        sold_date,
        'store_orders' as measure,
        store_id as store_scope,
        orders as measure_value,
        expected_orders as expected_value,
        {{ tolerance['store_orders'] }} as tolerance,
        cast(null as double precision) as spread
    from store_expectations

),

ranges as (

    -- A band is never narrower than the measure's own noise, `sigmas` standard deviations of it, so a small
    -- store or a small day is not flagged for chance alone. A count (orders, lines, a store's orders) is
    -- Poisson-like: its square root is about normal with standard deviation 1/2, so the noise range is
    -- (sqrt(expected) -/+ sigmas / 2)^2. Net paid is an average over the day's lines: its noise is the
    -- spread of the recent days' net paid per line (1.4826 * the median absolute log ratio: a standard
    -- deviation, robust to the odd day). No expectation (or a negative one): no band, the day is not judged.
    select
        sold_date,
        measure,
        store_scope,
        measure_value,
        expected_value,
        case
            when expected_value is null or expected_value < 0 then null
            when measure = 'net_paid'
                then expected_value * exp(-greatest(tolerance, {{ sigmas }} * 1.4826 * coalesce(spread, 0)))
            when sqrt(expected_value) > {{ sigmas }} / 2.0
                then least(expected_value * exp(-tolerance), power(sqrt(expected_value) - {{ sigmas }} / 2.0, 2))
            else 0
        end as lower_bound,
        case
            when expected_value is null or expected_value < 0 then null
            when measure = 'net_paid'
                then expected_value * exp(greatest(tolerance, {{ sigmas }} * 1.4826 * coalesce(spread, 0)))
            else greatest(expected_value * exp(tolerance), power(sqrt(expected_value) + {{ sigmas }} / 2.0, 2))
        end as upper_bound
    from measures

),

final as (

    select
        cast(sold_date as date) as sold_date,
        cast(measure as varchar(16)) as measure,
        cast(store_scope as varchar(32)) as store_scope,
        cast(measure_value as numeric(18, 2)) as measure_value,
        cast(expected_value as numeric(18, 2)) as expected_value,
        cast(lower_bound as numeric(18, 2)) as lower_bound,
        cast(upper_bound as numeric(18, 2)) as upper_bound,
        cast(
            case
                when lower_bound is null then 'no history'
                when measure_value < lower_bound or measure_value > upper_bound then 'anomaly'
                else 'ok'
            end as varchar(16)
        ) as volume_status,
        cast(
            case
                when measure_value < lower_bound or measure_value > upper_bound
                    then
                        cast(sold_date as varchar(10)) || ' ' || measure
                        || case when store_scope = 'all stores' then '' else ' of store ' || store_scope end || ' '
                        || cast(cast(round(measure_value) as bigint) as varchar(24))
                        || ' outside the expected '
                        -- the whole values inside the band, so a value just outside never reads as inside
                        || cast(cast(ceil(lower_bound) as bigint) as varchar(24)) || '..'
                        || cast(cast(floor(upper_bound) as bigint) as varchar(24))
            end as varchar(256)
        ) as anomaly
    from ranges

)

select * from final
