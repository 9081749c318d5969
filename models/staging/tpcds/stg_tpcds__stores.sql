with

source as (

    select * from {{ source('tpcds', 'store') }}

),

final as (

    select
        cast(s_store_sk as integer) as s_store_sk,
        cast(s_store_id as varchar) as s_store_id,
        cast(s_rec_start_date as date) as s_rec_start_date,
        cast(s_rec_end_date as date) as s_rec_end_date,
        cast(s_store_name as varchar) as s_store_name,
        cast(s_market_id as integer) as s_market_id,
        cast(s_division_name as varchar) as s_division_name,
        cast(s_company_name as varchar) as s_company_name,
        cast(s_city as varchar) as s_city,
        cast(s_county as varchar) as s_county,
        cast(s_state as varchar) as s_state,
        cast(s_zip as varchar) as s_zip,
        cast(s_country as varchar) as s_country
    from source

)

select * from final
