{{
    config(
        unique_key='ca_address_sk',
        incremental_strategy='delete+insert',
        dist='all',
        sort='ca_address_id',
    )
}}

{%- set attributes = [
    ('ca_street_number', 'varchar'),
    ('ca_street_name', 'varchar'),
    ('ca_street_type', 'varchar'),
    ('ca_suite_number', 'varchar'),
    ('ca_city', 'varchar'),
    ('ca_county', 'varchar'),
    ('ca_state', 'varchar'),
    ('ca_zip', 'varchar'),
    ('ca_country', 'varchar'),
    ('ca_gmt_offset', 'numeric(5, 2)'),
    ('ca_location_type', 'varchar'),
] -%}

with

addresses as (

    select * from {{ ref('stg_tpcds__customer_addresses') }}

),

unknown_member as (

    select
        cast(-1 as integer) as ca_address_sk,
        cast('unknown' as varchar) as ca_address_id,
        {%- for name, data_type in attributes %}
        cast(null as {{ data_type }}) as {{ name }},
        {%- endfor %}
        cast('1900-01-01' as date) as ca_first_load_date,
        cast('1900-01-01' as date) as ca_last_load_date

),

existing as (

    {% if is_incremental() -%}
    select * from {{ this }}
    where ca_address_sk <> -1
    {%- else -%}
    select * from unknown_member
    where 1 = 0
    {%- endif %}

),

ranked as (

    -- latest load date first; among one day's duplicates the deterministic pick orders by the attributes
    select
        addresses.*,
        min(addresses.load_date) over (
            partition by addresses.ca_address_id
        ) as window_first_load_date,
        row_number() over (
            partition by addresses.ca_address_id
            order by
                addresses.load_date desc,
                {%- for name, data_type in attributes %}
                addresses.{{ name }} nulls last{% if not loop.last %},{% endif %}
                {%- endfor %}
        ) as recency_rank
    from addresses
    where addresses.ca_address_id is not null

),

latest as (

    select * from ranked
    where recency_rank = 1

),

key_base as (

    select coalesce(max(ca_address_sk), 0) as max_address_sk
    from existing

),

new_keys as (

    -- new addresses are numbered in (first load date, natural key) order: a window numbers them
    -- exactly as the sequence of its days would
    select
        latest.ca_address_id,
        key_base.max_address_sk + row_number() over (
            order by latest.window_first_load_date, latest.ca_address_id
        ) as ca_address_sk
    from latest
    cross join key_base
    left join existing
        on latest.ca_address_id = existing.ca_address_id
    where existing.ca_address_id is null

),

resolved as (

    select
        latest.*,
        existing.ca_address_sk as existing_address_sk,
        existing.ca_first_load_date as existing_first_load_date,
        new_keys.ca_address_sk as new_address_sk,
        -- a rerun of an older window never overwrites attributes loaded from a later day
        coalesce(existing.ca_last_load_date > latest.load_date, false) as keeps_existing_attributes,
        {%- for name, data_type in attributes %}
        existing.{{ name }} as existing_{{ name }},
        {%- endfor %}
        existing.ca_last_load_date as existing_last_load_date
    from latest
    left join existing
        on latest.ca_address_id = existing.ca_address_id
    left join new_keys
        on latest.ca_address_id = new_keys.ca_address_id

),

changed as (

    select
        cast(coalesce(existing_address_sk, new_address_sk) as integer) as ca_address_sk,
        cast(ca_address_id as varchar) as ca_address_id,
        {%- for name, data_type in attributes %}
        cast(
            case when keeps_existing_attributes then existing_{{ name }} else {{ name }} end
            as {{ data_type }}
        ) as {{ name }},
        {%- endfor %}
        cast(
            case
                when existing_first_load_date < window_first_load_date then existing_first_load_date
                else window_first_load_date
            end
            as date
        ) as ca_first_load_date,
        cast(
            case when keeps_existing_attributes then existing_last_load_date else load_date end
            as date
        ) as ca_last_load_date
    from resolved

),

final as (

    select * from changed
    union all
    select * from unknown_member

)

select * from final
