with fan_root as (
    select * from {{ ref('fan_root') }}
),

final as (
    select
        id,
        6 as branch,
    from fan_root
)

select * from final
