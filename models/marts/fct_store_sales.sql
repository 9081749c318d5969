{{
    config(
        incremental_strategy='window_replace',
        event_time='ss_sold_date',
        dist='ss_item_sk',
        sort='ss_sold_date',
    )
}}

{#- the measures and their modeled types: macros/store_sales_measures.sql -#}
{%- set measures = store_sales_measures() -%}

with

sales as (

    select * from {{ ref('stg_tpcds__store_sales') }}

),

items as (

    select * from {{ ref('dim_item') }}

),

addresses as (

    select * from {{ ref('dim_customer_address') }}

),

customers as (

    select * from {{ ref('stg_tpcds__customers') }}

),

stores as (

    select * from {{ ref('stg_tpcds__stores') }}

),

dates as (

    select * from {{ ref('stg_tpcds__dates') }}

),

sales_lines as (

    -- identical duplicate lines (a re-delivered line) collapse to one; lines that differ are all kept
    select distinct
        sales.sold_date,
        sales.ss_ticket_number,
        sales.i_item_id,
        sales.c_customer_id,
        sales.ca_address_id,
        sales.s_store_id,
        {%- for name, data_type in measures %}
        sales.{{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from sales

),

numbered as (

    -- TPC-DS's grain is (ticket, item version): one ticket may hold several lines of one natural item id,
    -- so lines are numbered within (day, ticket, item id) in a deterministic order
    select
        sales_lines.*,
        row_number() over (
            partition by sales_lines.sold_date, sales_lines.ss_ticket_number, sales_lines.i_item_id
            order by
                {%- for name, data_type in measures %}
                sales_lines.{{ name }} nulls last,
                {%- endfor %}
                sales_lines.c_customer_id nulls last,
                sales_lines.ca_address_id nulls last,
                sales_lines.s_store_id nulls last
        ) as ss_line_number
    from sales_lines

),

resolved as (

    -- point-in-time lookups: the item version valid on the sale date, an address known by that date,
    -- the store version valid on that date; anything unresolved is the unknown member -1
    select
        numbered.sold_date,
        coalesce(dates.d_date_sk, -1) as ss_sold_date_sk,
        coalesce(items.i_item_sk, -1) as ss_item_sk,
        coalesce(customers.c_customer_sk, -1) as ss_customer_sk,
        coalesce(addresses.ca_address_sk, -1) as ss_addr_sk,
        coalesce(stores.s_store_sk, -1) as ss_store_sk,
        numbered.ss_ticket_number,
        numbered.i_item_id,
        numbered.ss_line_number,
        {%- for name, data_type in measures %}
        numbered.{{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from numbered
    left join items
        on
            numbered.i_item_id = items.i_item_id
            and items.i_item_sk <> -1
            and numbered.sold_date >= items.i_rec_start_date
            -- coalesce, not `is null or`: an OR in the join condition turns the hash join into a nested loop
            and numbered.sold_date <= coalesce(items.i_rec_end_date, cast('9999-12-31' as date))
    left join addresses
        on
            numbered.ca_address_id = addresses.ca_address_id
            and addresses.ca_address_sk <> -1
            and numbered.sold_date >= addresses.ca_first_load_date
    left join customers
        on numbered.c_customer_id = customers.c_customer_id
    left join stores
        on
            numbered.s_store_id = stores.s_store_id
            and numbered.sold_date >= coalesce(stores.s_rec_start_date, cast('0001-01-01' as date))
            and numbered.sold_date <= coalesce(stores.s_rec_end_date, cast('9999-12-31' as date))
    left join dates
        on numbered.sold_date = dates.d_date

),

final as (

    select
        cast(sold_date as date) as ss_sold_date,
        cast(ss_sold_date_sk as integer) as ss_sold_date_sk,
        cast(ss_item_sk as integer) as ss_item_sk,
        cast(ss_customer_sk as integer) as ss_customer_sk,
        cast(ss_addr_sk as integer) as ss_addr_sk,
        cast(ss_store_sk as integer) as ss_store_sk,
        cast(ss_ticket_number as bigint) as ss_ticket_number,
        cast(i_item_id as varchar) as ss_item_id,
        cast(ss_line_number as integer) as ss_line_number,
        {%- for name, data_type in measures %}
        cast({{ name }} as {{ data_type }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from resolved

)

select * from final
