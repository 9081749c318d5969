with chain_a as (
    select * from {{ ref('chain_a') }}
),

final as (
    select
        id + 1 as id,
        window_start,
        window_end,
    from chain_a
)

select * from final
