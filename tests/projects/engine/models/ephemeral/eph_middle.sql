{{ config(materialized='ephemeral') }}

with eph_source as (
    select * from {{ ref('eph_source') }}
),

final as (
    select id * 2 as id from eph_source
)

select * from final
