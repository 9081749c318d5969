with

source as (

    select * from {{ source('tpcds', 'date_dim') }}

),

final as (

    select
        cast(d_date_sk as integer) as d_date_sk,
        cast(d_date as date) as d_date,
        cast(d_year as integer) as d_year,
        cast(d_moy as integer) as d_moy,
        cast(d_dom as integer) as d_dom,
        cast(d_dow as integer) as d_dow,
        cast(d_week_seq as integer) as d_week_seq,
        cast(d_qoy as integer) as d_qoy,
        cast(d_day_name as varchar) as d_day_name,
        cast(d_quarter_name as varchar) as d_quarter_name,
        cast(d_holiday as varchar) as d_holiday,
        cast(d_weekend as varchar) as d_weekend
    from source

)

select * from final
