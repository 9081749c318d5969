with eph_middle as (
    select * from {{ ref('eph_middle') }}
),

final as (
    select id from eph_middle
)

select * from final
