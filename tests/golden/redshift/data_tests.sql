-- ==== accepted_range_dim_item_i_current_price__0
with

source_rows as (

    select * from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery

),

final as (

    select * from source_rows
    where
        1 = 0
        or i_current_price < 0

)

select * from final;

-- ==== accepted_range_fct_store_sales_ss_quantity__0
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where
        1 = 0
        or ss_quantity < 0

)

select * from final;

-- ==== accepted_range_fct_store_sales_ss_sales_price__0
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where
        1 = 0
        or ss_sales_price < 0

)

select * from final;

-- ==== accepted_range_rpt_daily_store_sales_orders__1
with

source_rows as (

    select * from "dev"."store_sales"."rpt_daily_store_sales"

),

final as (

    select * from source_rows
    where
        1 = 0
        or orders < 1

)

select * from final;

-- ==== accepted_range_rpt_weekly_region_sales_days_loaded__7__1
with

source_rows as (

    select * from "dev"."store_sales"."rpt_weekly_region_sales"

),

final as (

    select * from source_rows
    where
        1 = 0
        or days_loaded < 1
        or days_loaded > 7

)

select * from final;

-- ==== accepted_range_stg_tpcds__items_i_current_price__0
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__items"

),

final as (

    select * from source_rows
    where
        1 = 0
        or i_current_price < 0

)

select * from final;

-- ==== accepted_range_stg_tpcds__store_sales_ss_quantity__0
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__store_sales"

),

final as (

    select * from source_rows
    where
        1 = 0
        or ss_quantity < 0

)

select * from final;

-- ==== accepted_range_stg_tpcds__store_sales_ss_sales_price__0
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__store_sales"

),

final as (

    select * from source_rows
    where
        1 = 0
        or ss_sales_price < 0

)

select * from final;

-- ==== accepted_values_mon_store_sales_volume_measure__orders__sales_lines__net_paid__store_orders
with all_values as (

    select
        measure as value_field,
        count(*) as n_records

    from (select * from "dev"."store_sales"."mon_store_sales_volume" where sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    group by measure

)

select *
from all_values
where value_field not in (
    'orders','sales_lines','net_paid','store_orders'
);

-- ==== accepted_values_mon_store_sales_volume_volume_status__ok__anomaly__no_history
with all_values as (

    select
        volume_status as value_field,
        count(*) as n_records

    from (select * from "dev"."store_sales"."mon_store_sales_volume" where sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    group by volume_status

)

select *
from all_values
where value_field not in (
    'ok','anomaly','no history'
);

-- ==== dim_customer_address_first_load_not_after_last_load
with

source_rows as (

    select * from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery

),

final as (

    select * from source_rows
    where not coalesce(ca_first_load_date <= ca_last_load_date, false)

)

select * from final;

-- ==== fct_store_sales_covers_window_sales_dates
with

window_sales as (

    select * from "dev"."store_sales"."stg_tpcds__store_sales"

),

facts as (

    select * from "dev"."store_sales"."fct_store_sales"
    where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)

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

select * from final;

-- ==== fct_store_sales_one_row_per_sales_line
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select
        ss_sold_date, ss_ticket_number, ss_item_id, ss_line_number,
        count(*) as occurrences
    from source_rows
    group by ss_sold_date, ss_ticket_number, ss_item_id, ss_line_number
    having count(*) > 1

)

select * from final;

-- ==== mon_store_sales_volume_one_row_per_day_measure_and_store_scope
with

source_rows as (

    select * from (select * from "dev"."store_sales"."mon_store_sales_volume" where sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select
        sold_date, measure, store_scope,
        count(*) as occurrences
    from source_rows
    group by sold_date, measure, store_scope
    having count(*) > 1

)

select * from final;

-- ==== mon_store_sales_volume_within_expected_range
with

source_rows as (

    select * from (select * from "dev"."store_sales"."mon_store_sales_volume" where sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where not coalesce(volume_status <> 'anomaly', false)

)

select * from final;

-- ==== not_null_country_regions_country
select country
from "dev"."store_sales"."country_regions"
where country is null;

-- ==== not_null_country_regions_region
select region
from "dev"."store_sales"."country_regions"
where region is null;

-- ==== not_null_dim_customer_address_ca_address_id
select ca_address_id
from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where ca_address_id is null;

-- ==== not_null_dim_customer_address_ca_address_sk
select ca_address_sk
from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where ca_address_sk is null;

-- ==== not_null_dim_customer_address_ca_first_load_date
select ca_first_load_date
from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where ca_first_load_date is null;

-- ==== not_null_dim_customer_address_ca_last_load_date
select ca_last_load_date
from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where ca_last_load_date is null;

-- ==== not_null_dim_item_i_item_id
select i_item_id
from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where i_item_id is null;

-- ==== not_null_dim_item_i_item_sk
select i_item_sk
from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where i_item_sk is null;

-- ==== not_null_dim_item_i_last_load_date
select i_last_load_date
from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where i_last_load_date is null;

-- ==== not_null_dim_item_i_rec_start_date
select i_rec_start_date
from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where i_rec_start_date is null;

-- ==== not_null_fct_store_sales_ss_addr_sk
select ss_addr_sk
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_addr_sk is null;

-- ==== not_null_fct_store_sales_ss_customer_sk
select ss_customer_sk
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_customer_sk is null;

-- ==== not_null_fct_store_sales_ss_item_sk
select ss_item_sk
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_item_sk is null;

-- ==== not_null_fct_store_sales_ss_line_number
select ss_line_number
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_line_number is null;

-- ==== not_null_fct_store_sales_ss_sold_date
select ss_sold_date
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_sold_date is null;

-- ==== not_null_fct_store_sales_ss_sold_date_sk
select ss_sold_date_sk
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_sold_date_sk is null;

-- ==== not_null_fct_store_sales_ss_store_sk
select ss_store_sk
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_store_sk is null;

-- ==== not_null_fct_store_sales_ss_ticket_number
select ss_ticket_number
from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where ss_ticket_number is null;

-- ==== not_null_mon_store_sales_volume_sold_date
select sold_date
from (select * from "dev"."store_sales"."mon_store_sales_volume" where sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where sold_date is null;

-- ==== not_null_mon_store_sales_volume_store_scope
select store_scope
from (select * from "dev"."store_sales"."mon_store_sales_volume" where sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
where store_scope is null;

-- ==== not_null_rpt_daily_store_sales_s_store_sk
select s_store_sk
from "dev"."store_sales"."rpt_daily_store_sales"
where s_store_sk is null;

-- ==== not_null_rpt_daily_store_sales_sold_date
select sold_date
from "dev"."store_sales"."rpt_daily_store_sales"
where sold_date is null;

-- ==== not_null_rpt_weekly_region_sales_days_loaded
select days_loaded
from "dev"."store_sales"."rpt_weekly_region_sales"
where days_loaded is null;

-- ==== not_null_rpt_weekly_region_sales_is_partial_week
select is_partial_week
from "dev"."store_sales"."rpt_weekly_region_sales"
where is_partial_week is null;

-- ==== not_null_rpt_weekly_region_sales_region
select region
from "dev"."store_sales"."rpt_weekly_region_sales"
where region is null;

-- ==== not_null_rpt_weekly_region_sales_week_start_date
select week_start_date
from "dev"."store_sales"."rpt_weekly_region_sales"
where week_start_date is null;

-- ==== not_null_stg_tpcds__customer_addresses_ca_address_id
select ca_address_id
from "dev"."store_sales"."stg_tpcds__customer_addresses"
where ca_address_id is null;

-- ==== not_null_stg_tpcds__customer_addresses_load_date
select load_date
from "dev"."store_sales"."stg_tpcds__customer_addresses"
where load_date is null;

-- ==== not_null_stg_tpcds__customers_c_customer_id
select c_customer_id
from "dev"."store_sales"."stg_tpcds__customers"
where c_customer_id is null;

-- ==== not_null_stg_tpcds__customers_c_customer_sk
select c_customer_sk
from "dev"."store_sales"."stg_tpcds__customers"
where c_customer_sk is null;

-- ==== not_null_stg_tpcds__dates_d_date
select d_date
from "dev"."store_sales"."stg_tpcds__dates"
where d_date is null;

-- ==== not_null_stg_tpcds__dates_d_date_sk
select d_date_sk
from "dev"."store_sales"."stg_tpcds__dates"
where d_date_sk is null;

-- ==== not_null_stg_tpcds__items_i_item_id
select i_item_id
from "dev"."store_sales"."stg_tpcds__items"
where i_item_id is null;

-- ==== not_null_stg_tpcds__items_load_date
select load_date
from "dev"."store_sales"."stg_tpcds__items"
where load_date is null;

-- ==== not_null_stg_tpcds__store_sales_load_date
select load_date
from "dev"."store_sales"."stg_tpcds__store_sales"
where load_date is null;

-- ==== not_null_stg_tpcds__store_sales_sold_date
select sold_date
from "dev"."store_sales"."stg_tpcds__store_sales"
where sold_date is null;

-- ==== not_null_stg_tpcds__store_sales_ss_ticket_number
select ss_ticket_number
from "dev"."store_sales"."stg_tpcds__store_sales"
where ss_ticket_number is null;

-- ==== not_null_stg_tpcds__stores_s_store_id
select s_store_id
from "dev"."store_sales"."stg_tpcds__stores"
where s_store_id is null;

-- ==== not_null_stg_tpcds__stores_s_store_sk
select s_store_sk
from "dev"."store_sales"."stg_tpcds__stores"
where s_store_sk is null;

-- ==== relationships_fct_store_sales_ss_addr_sk__ca_address_sk__ref_dim_customer_address_
with child as (
    select ss_addr_sk as from_field
    from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    where ss_addr_sk is not null
),

parent as (
    select ca_address_sk as to_field
    from "dev"."store_sales"."dim_customer_address"
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null;

-- ==== relationships_fct_store_sales_ss_customer_sk__c_customer_sk__ref_stg_tpcds__customers_
with child as (
    select ss_customer_sk as from_field
    from (select * from "dev"."store_sales"."fct_store_sales" where (ss_customer_sk <> -1) and ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    where ss_customer_sk is not null
),

parent as (
    select c_customer_sk as to_field
    from "dev"."store_sales"."stg_tpcds__customers"
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null;

-- ==== relationships_fct_store_sales_ss_item_sk__i_item_sk__ref_dim_item_
with child as (
    select ss_item_sk as from_field
    from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    where ss_item_sk is not null
),

parent as (
    select i_item_sk as to_field
    from "dev"."store_sales"."dim_item"
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null;

-- ==== relationships_fct_store_sales_ss_sold_date_sk__d_date_sk__ref_stg_tpcds__dates_
with child as (
    select ss_sold_date_sk as from_field
    from (select * from "dev"."store_sales"."fct_store_sales" where (ss_sold_date_sk <> -1) and ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    where ss_sold_date_sk is not null
),

parent as (
    select d_date_sk as to_field
    from "dev"."store_sales"."stg_tpcds__dates"
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null;

-- ==== relationships_fct_store_sales_ss_store_sk__s_store_sk__ref_stg_tpcds__stores_
with child as (
    select ss_store_sk as from_field
    from (select * from "dev"."store_sales"."fct_store_sales" where (ss_store_sk <> -1) and ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery
    where ss_store_sk is not null
),

parent as (
    select s_store_sk as to_field
    from "dev"."store_sales"."stg_tpcds__stores"
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null;

-- ==== rpt_daily_store_sales_one_row_per_day_and_store
with

source_rows as (

    select * from "dev"."store_sales"."rpt_daily_store_sales"

),

final as (

    select
        sold_date, s_store_sk,
        count(*) as occurrences
    from source_rows
    group by sold_date, s_store_sk
    having count(*) > 1

)

select * from final;

-- ==== rpt_weekly_region_sales_one_row_per_week_and_region
with

source_rows as (

    select * from "dev"."store_sales"."rpt_weekly_region_sales"

),

final as (

    select
        week_start_date, region,
        count(*) as occurrences
    from source_rows
    group by week_start_date, region
    having count(*) > 1

)

select * from final;

-- ==== scd2_no_overlap_dim_item_i_item_id__i_rec_start_date__i_rec_end_date__i_item_sk
with

versions as (

    select * from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery

),

reversed as (

    select
        i_item_id as natural_key,
        i_item_sk as version_key,
        i_item_sk as other_version_key
    from versions
    where i_rec_end_date < i_rec_start_date

),

overlapping as (

    select
        earlier.i_item_id as natural_key,
        earlier.i_item_sk as version_key,
        later.i_item_sk as other_version_key
    from versions as earlier
    inner join versions as later
        on
            earlier.i_item_id = later.i_item_id
            and earlier.i_item_sk <> later.i_item_sk
            and earlier.i_rec_start_date <= later.i_rec_start_date
            and (earlier.i_rec_end_date is null or earlier.i_rec_end_date >= later.i_rec_start_date)

),

final as (

    select * from reversed
    union all
    select * from overlapping

)

select * from final;

-- ==== scd2_no_overlap_stg_tpcds__stores_s_store_id__s_rec_start_date__s_rec_end_date__s_store_sk
with

versions as (

    select * from "dev"."store_sales"."stg_tpcds__stores"

),

reversed as (

    select
        s_store_id as natural_key,
        s_store_sk as version_key,
        s_store_sk as other_version_key
    from versions
    where s_rec_end_date < s_rec_start_date

),

overlapping as (

    select
        earlier.s_store_id as natural_key,
        earlier.s_store_sk as version_key,
        later.s_store_sk as other_version_key
    from versions as earlier
    inner join versions as later
        on
            earlier.s_store_id = later.s_store_id
            and earlier.s_store_sk <> later.s_store_sk
            and earlier.s_rec_start_date <= later.s_rec_start_date
            and (earlier.s_rec_end_date is null or earlier.s_rec_end_date >= later.s_rec_start_date)

),

final as (

    select * from reversed
    union all
    select * from overlapping

)

select * from final;

-- ==== scd2_one_open_version_dim_item_i_item_id__i_rec_end_date
with

versions as (

    select * from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery

),

final as (

    select
        i_item_id,
        sum(case when i_rec_end_date is null then 1 else 0 end) as open_versions
    from versions
    group by i_item_id
    having sum(case when i_rec_end_date is null then 1 else 0 end) <> 1

)

select * from final;

-- ==== stg_tpcds__customer_addresses_one_row_per_address_and_day
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__customer_addresses"

),

final as (

    select
        ca_address_id, load_date,
        count(*) as occurrences
    from source_rows
    group by ca_address_id, load_date
    having count(*) > 1

)

select * from final;

-- ==== stg_tpcds__items_one_row_per_item_and_day
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__items"

),

final as (

    select
        i_item_id, load_date,
        count(*) as occurrences
    from source_rows
    group by i_item_id, load_date
    having count(*) > 1

)

select * from final;

-- ==== stg_tpcds__store_sales_no_identical_duplicate_lines
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__store_sales"

),

final as (

    select
        sold_date, ss_ticket_number, i_item_id, c_customer_id, ca_address_id, s_store_id, ss_quantity, ss_wholesale_cost, ss_list_price, ss_sales_price, ss_ext_discount_amt, ss_ext_sales_price, ss_ext_wholesale_cost, ss_ext_list_price, ss_ext_tax, ss_coupon_amt, ss_net_paid, ss_net_paid_inc_tax, ss_net_profit,
        count(*) as occurrences
    from source_rows
    group by sold_date, ss_ticket_number, i_item_id, c_customer_id, ca_address_id, s_store_id, ss_quantity, ss_wholesale_cost, ss_list_price, ss_sales_price, ss_ext_discount_amt, ss_ext_sales_price, ss_ext_wholesale_cost, ss_ext_list_price, ss_ext_tax, ss_coupon_amt, ss_net_paid, ss_net_paid_inc_tax, ss_net_profit
    having count(*) > 1

)

select * from final;

-- ==== stg_tpcds__store_sales_sold_on_load_date
with

source_rows as (

    select * from "dev"."store_sales"."stg_tpcds__store_sales"

),

final as (

    select * from source_rows
    where not coalesce(sold_date = load_date, false)

)

select * from final;

-- ==== unique_country_regions_country
select
    country as unique_field,
    count(*) as n_records

from "dev"."store_sales"."country_regions"
where country is not null
group by country
having count(*) > 1;

-- ==== unique_dim_customer_address_ca_address_id
select
    ca_address_id as unique_field,
    count(*) as n_records

from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where ca_address_id is not null
group by ca_address_id
having count(*) > 1;

-- ==== unique_dim_customer_address_ca_address_sk
select
    ca_address_sk as unique_field,
    count(*) as n_records

from (select * from "dev"."store_sales"."dim_customer_address" where (ca_address_sk in (select ca_address_sk from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or ca_address_id in (select ca_address_id from "dev"."store_sales"."dim_customer_address" where ca_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where ca_address_sk is not null
group by ca_address_sk
having count(*) > 1;

-- ==== unique_dim_item_i_item_sk
select
    i_item_sk as unique_field,
    count(*) as n_records

from (select * from "dev"."store_sales"."dim_item" where (i_item_sk in (select i_item_sk from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) or i_item_id in (select i_item_id from "dev"."store_sales"."dim_item" where i_last_load_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)))) dbt_subquery
where i_item_sk is not null
group by i_item_sk
having count(*) > 1;

-- ==== unique_stg_tpcds__customers_c_customer_id
select
    c_customer_id as unique_field,
    count(*) as n_records

from "dev"."store_sales"."stg_tpcds__customers"
where c_customer_id is not null
group by c_customer_id
having count(*) > 1;

-- ==== unique_stg_tpcds__customers_c_customer_sk
select
    c_customer_sk as unique_field,
    count(*) as n_records

from "dev"."store_sales"."stg_tpcds__customers"
where c_customer_sk is not null
group by c_customer_sk
having count(*) > 1;

-- ==== unique_stg_tpcds__dates_d_date
select
    d_date as unique_field,
    count(*) as n_records

from "dev"."store_sales"."stg_tpcds__dates"
where d_date is not null
group by d_date
having count(*) > 1;

-- ==== unique_stg_tpcds__dates_d_date_sk
select
    d_date_sk as unique_field,
    count(*) as n_records

from "dev"."store_sales"."stg_tpcds__dates"
where d_date_sk is not null
group by d_date_sk
having count(*) > 1;

-- ==== unique_stg_tpcds__stores_s_store_sk
select
    s_store_sk as unique_field,
    count(*) as n_records

from "dev"."store_sales"."stg_tpcds__stores"
where s_store_sk is not null
group by s_store_sk
having count(*) > 1;

-- ==== unknown_member_count_fct_store_sales_ss_addr_sk
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where ss_addr_sk = -1

)

select * from final;

-- ==== unknown_member_count_fct_store_sales_ss_customer_sk
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where ss_customer_sk = -1

)

select * from final;

-- ==== unknown_member_count_fct_store_sales_ss_item_sk
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where ss_item_sk = -1

)

select * from final;

-- ==== unknown_member_count_fct_store_sales_ss_sold_date_sk
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where ss_sold_date_sk = -1

)

select * from final;

-- ==== unknown_member_count_fct_store_sales_ss_store_sk
with

source_rows as (

    select * from (select * from "dev"."store_sales"."fct_store_sales" where ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)) dbt_subquery

),

final as (

    select * from source_rows
    where ss_store_sk = -1

)

select * from final;
