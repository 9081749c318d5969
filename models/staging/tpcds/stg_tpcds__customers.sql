with

source as (

    select * from {{ source('tpcds', 'customer') }}

),

final as (

    select
        cast(c_customer_sk as integer) as c_customer_sk,
        cast(c_customer_id as varchar) as c_customer_id,
        cast(c_salutation as varchar) as c_salutation,
        cast(c_first_name as varchar) as c_first_name,
        cast(c_last_name as varchar) as c_last_name,
        cast(c_preferred_cust_flag as varchar) as c_preferred_cust_flag,
        cast(c_birth_country as varchar) as c_birth_country,
        cast(c_email_address as varchar) as c_email_address
    from source

)

select * from final
