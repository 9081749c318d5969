-- The stored-procedure way: the whole load of one refresh window in one DuckDB connection and one
-- transaction, written by hand. It is the baseline of the benchmarks (bench/README.md), not part of
-- the product. Same rules as the dbt models (models/marts/_marts__docs.md), for windows loaded in
-- date order (what a scheduled procedure does): type-1 address upsert, type-2 item versions on
-- price, delete + insert of the window's fact rows with point-in-time keys, and the two reports'
-- window. Unlike the models it does not handle a rerun of a window older than what is loaded.
--
-- Parameters (DuckDB variables, set by bench/handwritten.py before this script runs):
--   window_start, window_end  DATE     the refresh window [start, end] of load dates
--   data_dir                  VARCHAR  the folder holding landing/ and reference/
--   seed_file                 VARCHAR  seeds/country_regions.csv
-- The tables are created when missing, so on an empty database the script is a set-based rebuild.

begin transaction;

create table if not exists dim_customer_address (
    ca_address_sk integer,
    ca_address_id varchar,
    ca_street_number varchar,
    ca_street_name varchar,
    ca_street_type varchar,
    ca_suite_number varchar,
    ca_city varchar,
    ca_county varchar,
    ca_state varchar,
    ca_zip varchar,
    ca_country varchar,
    ca_gmt_offset numeric(5, 2),
    ca_location_type varchar,
    ca_first_load_date date,
    ca_last_load_date date
);

create table if not exists dim_item (
    i_item_sk integer,
    i_item_id varchar,
    i_rec_start_date date,
    i_rec_end_date date,
    i_current_price numeric(7, 2),
    i_item_desc varchar,
    i_wholesale_cost numeric(7, 2),
    i_brand_id integer,
    i_brand varchar,
    i_class_id integer,
    i_class varchar,
    i_category_id integer,
    i_category varchar,
    i_manufact_id integer,
    i_manufact varchar,
    i_size varchar,
    i_formulation varchar,
    i_color varchar,
    i_units varchar,
    i_container varchar,
    i_manager_id integer,
    i_product_name varchar,
    i_last_load_date date
);

create table if not exists fct_store_sales (
    ss_sold_date date,
    ss_sold_date_sk integer,
    ss_item_sk integer,
    ss_customer_sk integer,
    ss_addr_sk integer,
    ss_store_sk integer,
    ss_ticket_number bigint,
    ss_item_id varchar,
    ss_line_number integer,
    ss_quantity integer,
    ss_wholesale_cost numeric(7, 2),
    ss_list_price numeric(7, 2),
    ss_sales_price numeric(7, 2),
    ss_ext_discount_amt numeric(7, 2),
    ss_ext_sales_price numeric(7, 2),
    ss_ext_wholesale_cost numeric(7, 2),
    ss_ext_list_price numeric(7, 2),
    ss_ext_tax numeric(7, 2),
    ss_coupon_amt numeric(7, 2),
    ss_net_paid numeric(7, 2),
    ss_net_paid_inc_tax numeric(7, 2),
    ss_net_profit numeric(7, 2)
);

create table if not exists rpt_daily_store_sales (
    sold_date date,
    s_store_sk integer,
    s_store_id varchar,
    s_store_name varchar,
    s_city varchar,
    s_county varchar,
    s_state varchar,
    orders bigint,
    sales_lines bigint,
    quantity bigint,
    sales_amount numeric(18, 2),
    net_paid numeric(18, 2),
    net_profit numeric(18, 2)
);

create table if not exists rpt_weekly_region_sales (
    week_start_date date,
    region varchar,
    days_loaded integer,
    is_partial_week boolean,
    stores bigint,
    orders bigint,
    sales_amount numeric(18, 2),
    net_paid numeric(18, 2),
    net_profit numeric(18, 2),
    prior_week_sales_amount numeric(18, 2),
    sales_amount_change numeric(18, 2),
    sales_amount_change_pct numeric(12, 2)
);

-- the unknown members (key -1) that unresolved fact keys point to
insert into dim_customer_address (ca_address_sk, ca_address_id, ca_first_load_date, ca_last_load_date)
select
    -1,
    'unknown',
    date '1900-01-01',
    date '1900-01-01'
where not exists (select 1 from dim_customer_address where ca_address_sk = -1);

insert into dim_item (i_item_sk, i_item_id, i_rec_start_date, i_last_load_date)
select
    -1,
    'unknown',
    date '1900-01-01',
    date '1900-01-01'
where not exists (select 1 from dim_item where i_item_sk = -1);

-- the reference snapshots, read once
create temp table ref_stores as
select
    cast(s_store_sk as integer) as s_store_sk,
    cast(s_store_id as varchar) as s_store_id,
    cast(s_rec_start_date as date) as s_rec_start_date,
    cast(s_rec_end_date as date) as s_rec_end_date,
    cast(s_store_name as varchar) as s_store_name,
    cast(s_city as varchar) as s_city,
    cast(s_county as varchar) as s_county,
    cast(s_state as varchar) as s_state,
    cast(s_country as varchar) as s_country
from read_parquet(getvariable('data_dir') || '/reference/store.parquet');

create temp table country_regions as
select
    cast(country as varchar) as country,
    cast(region as varchar) as region
from read_csv(getvariable('seed_file'), header = true);

-- 1. dim_customer_address, type 1: the latest row of each address in the window
create temp table window_addresses as
with

source as (
    select * from read_parquet(
        getvariable('data_dir') || '/landing/customer_address/*/*.parquet',
        hive_partitioning = true,
        union_by_name = true
    )
    where load_date between getvariable('window_start') and getvariable('window_end')
),

typed as (
    select
        cast(load_date as date) as load_date,
        cast(ca_address_id as varchar) as ca_address_id,
        cast(ca_street_number as varchar) as ca_street_number,
        cast(ca_street_name as varchar) as ca_street_name,
        cast(ca_street_type as varchar) as ca_street_type,
        cast(ca_suite_number as varchar) as ca_suite_number,
        cast(ca_city as varchar) as ca_city,
        cast(ca_county as varchar) as ca_county,
        cast(ca_state as varchar) as ca_state,
        cast(ca_zip as varchar) as ca_zip,
        cast(ca_country as varchar) as ca_country,
        cast(ca_gmt_offset as numeric(5, 2)) as ca_gmt_offset,
        cast(ca_location_type as varchar) as ca_location_type
    from source
    where ca_address_id is not null
),

ranked as (
    select
        *,
        min(load_date) over (partition by ca_address_id) as window_first_load_date,
        row_number() over (
            partition by ca_address_id
            order by
                load_date desc,
                ca_street_number nulls last,
                ca_street_name nulls last,
                ca_street_type nulls last,
                ca_suite_number nulls last,
                ca_city nulls last,
                ca_county nulls last,
                ca_state nulls last,
                ca_zip nulls last,
                ca_country nulls last,
                ca_gmt_offset nulls last,
                ca_location_type nulls last
        ) as recency_rank
    from typed
)

select * from ranked
where recency_rank = 1;

update dim_customer_address as dim
set
    ca_street_number = changed.ca_street_number,
    ca_street_name = changed.ca_street_name,
    ca_street_type = changed.ca_street_type,
    ca_suite_number = changed.ca_suite_number,
    ca_city = changed.ca_city,
    ca_county = changed.ca_county,
    ca_state = changed.ca_state,
    ca_zip = changed.ca_zip,
    ca_country = changed.ca_country,
    ca_gmt_offset = changed.ca_gmt_offset,
    ca_location_type = changed.ca_location_type,
    ca_first_load_date = least(dim.ca_first_load_date, changed.window_first_load_date),
    ca_last_load_date = changed.load_date
from window_addresses as changed
where dim.ca_address_id = changed.ca_address_id and dim.ca_address_sk <> -1;

insert into dim_customer_address
select
    (select coalesce(max(ca_address_sk), 0) from dim_customer_address where ca_address_sk <> -1)
    + row_number() over (order by new.window_first_load_date, new.ca_address_id),
    new.ca_address_id,
    new.ca_street_number,
    new.ca_street_name,
    new.ca_street_type,
    new.ca_suite_number,
    new.ca_city,
    new.ca_county,
    new.ca_state,
    new.ca_zip,
    new.ca_country,
    new.ca_gmt_offset,
    new.ca_location_type,
    new.window_first_load_date,
    new.load_date
from window_addresses as new
where not exists (select 1 from dim_customer_address as dim where dim.ca_address_id = new.ca_address_id);

-- 2. dim_item, type 2 on price: the window's observations cut into price segments
create temp table item_segments as
with

source as (
    select * from read_parquet(
        getvariable('data_dir') || '/landing/item/*/*.parquet',
        hive_partitioning = true,
        union_by_name = true
    )
    where load_date between getvariable('window_start') and getvariable('window_end')
),

typed as (
    select
        cast(load_date as date) as load_date,
        cast(i_item_id as varchar) as i_item_id,
        cast(i_current_price as numeric(7, 2)) as i_current_price,
        cast(i_item_desc as varchar) as i_item_desc,
        cast(i_wholesale_cost as numeric(7, 2)) as i_wholesale_cost,
        cast(i_brand_id as integer) as i_brand_id,
        cast(i_brand as varchar) as i_brand,
        cast(i_class_id as integer) as i_class_id,
        cast(i_class as varchar) as i_class,
        cast(i_category_id as integer) as i_category_id,
        cast(i_category as varchar) as i_category,
        cast(i_manufact_id as integer) as i_manufact_id,
        cast(i_manufact as varchar) as i_manufact,
        cast(i_size as varchar) as i_size,
        cast(i_formulation as varchar) as i_formulation,
        cast(i_color as varchar) as i_color,
        cast(i_units as varchar) as i_units,
        cast(i_container as varchar) as i_container,
        cast(i_manager_id as integer) as i_manager_id,
        cast(i_product_name as varchar) as i_product_name
    from source
    where i_item_id is not null
),

daily as (
    -- one row per item and day: the highest price, then the attributes in order
    select
        *,
        row_number() over (
            partition by i_item_id, load_date
            order by
                i_current_price desc nulls last,
                i_item_desc nulls last,
                i_wholesale_cost nulls last,
                i_brand_id nulls last,
                i_brand nulls last,
                i_class_id nulls last,
                i_class nulls last,
                i_category_id nulls last,
                i_category nulls last,
                i_manufact_id nulls last,
                i_manufact nulls last,
                i_size nulls last,
                i_formulation nulls last,
                i_color nulls last,
                i_units nulls last,
                i_container nulls last,
                i_manager_id nulls last,
                i_product_name nulls last
        ) as duplicate_rank
    from typed
),

observations as (
    select
        *,
        lag(i_current_price) over (partition by i_item_id order by load_date) as prior_price,
        row_number() over (partition by i_item_id order by load_date) as observation_number
    from daily
    where duplicate_rank = 1
),

current_versions as (
    select
        i_item_id,
        i_current_price
    from dim_item
    where i_item_sk <> -1 and i_rec_end_date is null
),

flagged as (
    -- an observation opens a version when its price differs from the price in force the day before
    select
        observations.*,
        case
            when observations.observation_number = 1 and current_versions.i_item_id is null then 1
            when observations.observation_number = 1
                then
                    case
                        when observations.i_current_price is not distinct from current_versions.i_current_price
                            then 0
                        else 1
                    end
            when observations.i_current_price is not distinct from observations.prior_price then 0
            else 1
        end as opens_version
    from observations
    left join current_versions
        on observations.i_item_id = current_versions.i_item_id
),

segmented as (
    select
        *,
        sum(opens_version) over (
            partition by i_item_id
            order by load_date
            rows between unbounded preceding and current row
        ) as segment_number
    from flagged
),

bounds as (
    select
        i_item_id,
        segment_number,
        min(load_date) as segment_start_date,
        max(load_date) as segment_last_load_date
    from segmented
    group by i_item_id, segment_number
)

select
    bounds.*,
    lead(bounds.segment_start_date) over (
        partition by bounds.i_item_id
        order by bounds.segment_number
    ) as next_segment_start_date,
    segmented.i_current_price,
    segmented.i_item_desc,
    segmented.i_wholesale_cost,
    segmented.i_brand_id,
    segmented.i_brand,
    segmented.i_class_id,
    segmented.i_class,
    segmented.i_category_id,
    segmented.i_category,
    segmented.i_manufact_id,
    segmented.i_manufact,
    segmented.i_size,
    segmented.i_formulation,
    segmented.i_color,
    segmented.i_units,
    segmented.i_container,
    segmented.i_manager_id,
    segmented.i_product_name
from bounds
inner join segmented
    on bounds.i_item_id = segmented.i_item_id and bounds.segment_last_load_date = segmented.load_date;

-- the version in force: attributes updated in place by segment 0, closed the day before segment 1
create temp table item_current_updates as
select
    coalesce(continued.i_item_id, opened.i_item_id) as i_item_id,
    continued.i_item_id is not null as is_continued,
    opened.segment_start_date - 1 as closed_on,
    continued.segment_last_load_date,
    continued.i_item_desc,
    continued.i_wholesale_cost,
    continued.i_brand_id,
    continued.i_brand,
    continued.i_class_id,
    continued.i_class,
    continued.i_category_id,
    continued.i_category,
    continued.i_manufact_id,
    continued.i_manufact,
    continued.i_size,
    continued.i_formulation,
    continued.i_color,
    continued.i_units,
    continued.i_container,
    continued.i_manager_id,
    continued.i_product_name
from (select * from item_segments where segment_number = 0) as continued
full outer join (select * from item_segments where segment_number = 1) as opened
    on continued.i_item_id = opened.i_item_id;

update dim_item as dim
set
    i_rec_end_date = coalesce(change.closed_on, dim.i_rec_end_date),
    i_item_desc = case when change.is_continued then change.i_item_desc else dim.i_item_desc end,
    i_wholesale_cost = case when change.is_continued then change.i_wholesale_cost else dim.i_wholesale_cost end,
    i_brand_id = case when change.is_continued then change.i_brand_id else dim.i_brand_id end,
    i_brand = case when change.is_continued then change.i_brand else dim.i_brand end,
    i_class_id = case when change.is_continued then change.i_class_id else dim.i_class_id end,
    i_class = case when change.is_continued then change.i_class else dim.i_class end,
    i_category_id = case when change.is_continued then change.i_category_id else dim.i_category_id end,
    i_category = case when change.is_continued then change.i_category else dim.i_category end,
    i_manufact_id = case when change.is_continued then change.i_manufact_id else dim.i_manufact_id end,
    i_manufact = case when change.is_continued then change.i_manufact else dim.i_manufact end,
    i_size = case when change.is_continued then change.i_size else dim.i_size end,
    i_formulation = case when change.is_continued then change.i_formulation else dim.i_formulation end,
    i_color = case when change.is_continued then change.i_color else dim.i_color end,
    i_units = case when change.is_continued then change.i_units else dim.i_units end,
    i_container = case when change.is_continued then change.i_container else dim.i_container end,
    i_manager_id = case when change.is_continued then change.i_manager_id else dim.i_manager_id end,
    i_product_name = case when change.is_continued then change.i_product_name else dim.i_product_name end,
    i_last_load_date = case when change.is_continued then change.segment_last_load_date else dim.i_last_load_date end
from item_current_updates as change
where dim.i_item_id = change.i_item_id and dim.i_item_sk <> -1 and dim.i_rec_end_date is null;

-- versions opened in the window, numbered in (start date, natural key) order
insert into dim_item
select
    (select coalesce(max(i_item_sk), 0) from dim_item where i_item_sk <> -1)
    + row_number() over (order by opened.segment_start_date, opened.i_item_id),
    opened.i_item_id,
    opened.segment_start_date,
    opened.next_segment_start_date - 1,
    opened.i_current_price,
    opened.i_item_desc,
    opened.i_wholesale_cost,
    opened.i_brand_id,
    opened.i_brand,
    opened.i_class_id,
    opened.i_class,
    opened.i_category_id,
    opened.i_category,
    opened.i_manufact_id,
    opened.i_manufact,
    opened.i_size,
    opened.i_formulation,
    opened.i_color,
    opened.i_units,
    opened.i_container,
    opened.i_manager_id,
    opened.i_product_name,
    opened.segment_last_load_date
from item_segments as opened
where opened.segment_number >= 1;

-- 3. fct_store_sales: the window's days deleted and re-inserted with point-in-time keys
delete from fct_store_sales
where ss_sold_date between getvariable('window_start') and getvariable('window_end');

insert into fct_store_sales
with

source as (
    select * from read_parquet(
        getvariable('data_dir') || '/landing/store_sales/*/*.parquet',
        hive_partitioning = true,
        union_by_name = true
    )
    where load_date between getvariable('window_start') and getvariable('window_end')
),

sales_lines as (
    -- identical duplicate lines collapse to one
    select distinct
        cast(sold_date as date) as sold_date,
        cast(ss_ticket_number as bigint) as ss_ticket_number,
        cast(i_item_id as varchar) as i_item_id,
        cast(c_customer_id as varchar) as c_customer_id,
        cast(ca_address_id as varchar) as ca_address_id,
        cast(s_store_id as varchar) as s_store_id,
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
),

numbered as (
    select
        *,
        row_number() over (
            partition by sold_date, ss_ticket_number, i_item_id
            order by
                ss_quantity nulls last,
                ss_wholesale_cost nulls last,
                ss_list_price nulls last,
                ss_sales_price nulls last,
                ss_ext_discount_amt nulls last,
                ss_ext_sales_price nulls last,
                ss_ext_wholesale_cost nulls last,
                ss_ext_list_price nulls last,
                ss_ext_tax nulls last,
                ss_coupon_amt nulls last,
                ss_net_paid nulls last,
                ss_net_paid_inc_tax nulls last,
                ss_net_profit nulls last,
                c_customer_id nulls last,
                ca_address_id nulls last,
                s_store_id nulls last
        ) as ss_line_number
    from sales_lines
),

customers as (
    select
        cast(c_customer_sk as integer) as c_customer_sk,
        cast(c_customer_id as varchar) as c_customer_id
    from read_parquet(getvariable('data_dir') || '/reference/customer.parquet')
),

dates as (
    select
        cast(d_date_sk as integer) as d_date_sk,
        cast(d_date as date) as d_date
    from read_parquet(getvariable('data_dir') || '/reference/date_dim.parquet')
)

select
    numbered.sold_date,
    coalesce(dates.d_date_sk, -1),
    coalesce(items.i_item_sk, -1),
    coalesce(customers.c_customer_sk, -1),
    coalesce(addresses.ca_address_sk, -1),
    coalesce(stores.s_store_sk, -1),
    numbered.ss_ticket_number,
    numbered.i_item_id,
    numbered.ss_line_number,
    numbered.ss_quantity,
    numbered.ss_wholesale_cost,
    numbered.ss_list_price,
    numbered.ss_sales_price,
    numbered.ss_ext_discount_amt,
    numbered.ss_ext_sales_price,
    numbered.ss_ext_wholesale_cost,
    numbered.ss_ext_list_price,
    numbered.ss_ext_tax,
    numbered.ss_coupon_amt,
    numbered.ss_net_paid,
    numbered.ss_net_paid_inc_tax,
    numbered.ss_net_profit
from numbered
left join dim_item as items
    on
        numbered.i_item_id = items.i_item_id
        and items.i_item_sk <> -1
        -- no OR in a join condition: it would hide the equality and make a nested-loop join
        and numbered.sold_date >= items.i_rec_start_date
        and numbered.sold_date <= coalesce(items.i_rec_end_date, date '9999-12-31')
left join dim_customer_address as addresses
    on
        numbered.ca_address_id = addresses.ca_address_id
        and addresses.ca_address_sk <> -1
        and numbered.sold_date >= addresses.ca_first_load_date
left join customers
    on numbered.c_customer_id = customers.c_customer_id
left join ref_stores as stores
    on
        numbered.s_store_id = stores.s_store_id
        and numbered.sold_date >= coalesce(stores.s_rec_start_date, date '0001-01-01')
        and numbered.sold_date <= coalesce(stores.s_rec_end_date, date '9999-12-31')
left join dates
    on numbered.sold_date = dates.d_date;

-- 4. rpt_daily_store_sales: the window's days
delete from rpt_daily_store_sales
where sold_date between getvariable('window_start') and getvariable('window_end');

insert into rpt_daily_store_sales
with

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
    from fct_store_sales
    where ss_sold_date between getvariable('window_start') and getvariable('window_end')
    group by ss_sold_date, ss_store_sk
)

select
    daily.ss_sold_date,
    daily.ss_store_sk,
    stores.s_store_id,
    stores.s_store_name,
    stores.s_city,
    stores.s_county,
    stores.s_state,
    daily.orders,
    daily.sales_lines,
    daily.quantity,
    daily.sales_amount,
    daily.net_paid,
    daily.net_profit
from daily
left join ref_stores as stores
    on daily.ss_store_sk = stores.s_store_sk;

-- 5. rpt_weekly_region_sales: the window's ISO weeks plus the week after (its change depends on them);
--    days_loaded = the week's days with sales anywhere, the change like for like (same weekdays)
set variable week_lower = cast(date_trunc('week', getvariable('window_start')) as date);
set variable week_upper = cast(date_trunc('week', getvariable('window_end')) as date) + 7;

delete from rpt_weekly_region_sales
where week_start_date between getvariable('week_lower') and getvariable('week_upper');

insert into rpt_weekly_region_sales
with

regional_sales as (
    select
        sales.ss_sold_date,
        sales.ss_store_sk,
        sales.ss_ticket_number,
        sales.ss_ext_sales_price,
        sales.ss_net_paid,
        sales.ss_net_profit,
        coalesce(country_regions.region, 'Unknown') as region
    from fct_store_sales as sales
    left join ref_stores as stores
        on sales.ss_store_sk = stores.s_store_sk
    left join country_regions
        on stores.s_country = country_regions.country
    where sales.ss_sold_date between getvariable('week_lower') - 7 and getvariable('week_upper') + 6
),

daily_region_sales as (
    select
        ss_sold_date as sold_date,
        region,
        sum(ss_ext_sales_price) as sales_amount
    from regional_sales
    group by 1, 2
),

-- the days with store sales anywhere: a week is partial below 7, and compared like for like
sale_days as (
    select distinct sold_date from daily_region_sales
),

weekly_days_loaded as (
    select
        cast(date_trunc('week', sold_date) as date) as week_start_date,
        count(*) as days_loaded
    from sale_days
    group by 1
),

prior_same_days as (
    select
        cast(date_trunc('week', sale_days.sold_date) as date) as week_start_date,
        prior_day.region,
        sum(prior_day.sales_amount) as prior_week_sales_amount
    from sale_days
    inner join daily_region_sales as prior_day
        on prior_day.sold_date = sale_days.sold_date - 7
    group by 1, 2
),

weekly as (
    select
        cast(date_trunc('week', ss_sold_date) as date) as week_start_date,
        region,
        count(distinct ss_store_sk) as stores,
        count(distinct ss_ticket_number) as orders,
        sum(ss_ext_sales_price) as sales_amount,
        sum(ss_net_paid) as net_paid,
        sum(ss_net_profit) as net_profit
    from regional_sales
    group by 1, 2
)

select
    weekly.week_start_date,
    weekly.region,
    weekly_days_loaded.days_loaded,
    weekly_days_loaded.days_loaded < 7,
    weekly.stores,
    weekly.orders,
    weekly.sales_amount,
    weekly.net_paid,
    weekly.net_profit,
    prior.prior_week_sales_amount,
    weekly.sales_amount - prior.prior_week_sales_amount,
    round(
        case
            when prior.prior_week_sales_amount <> 0
                then
                    100 * cast(weekly.sales_amount - prior.prior_week_sales_amount as numeric(18, 4))
                    / prior.prior_week_sales_amount
        end,
        2
    )
from weekly
inner join weekly_days_loaded
    on weekly.week_start_date = weekly_days_loaded.week_start_date
left join prior_same_days as prior
    on weekly.week_start_date = prior.week_start_date and weekly.region = prior.region
where weekly.week_start_date between getvariable('week_lower') and getvariable('week_upper');

commit;
