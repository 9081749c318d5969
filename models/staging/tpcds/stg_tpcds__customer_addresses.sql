with

source as (

    select * from {{ source('tpcds', 'customer_address') }}
    where load_date between {{ refresh_window_start() }} and {{ refresh_window_end() }}

),

final as (

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

)

select * from final
