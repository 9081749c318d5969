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
        {%- for name, data_type in store_sales_measures() %}
        cast({{ name }} as {{ data_type }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from source

)

select * from final
