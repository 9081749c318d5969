with

source as (

    select * from {{ source('tpcds', 'item') }}
    where load_date between {{ refresh_window_start() }} and {{ refresh_window_end() }}

),

final as (

    select
        cast(load_date as date) as load_date,
        cast(i_item_id as varchar) as i_item_id,
        cast(i_item_desc as varchar) as i_item_desc,
        cast(i_current_price as numeric(7, 2)) as i_current_price,
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

)

select * from final
