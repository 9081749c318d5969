with chain_b as (
    select * from {{ ref('chain_b') }}
),

final as (
    select
        id + 1 as id,
        window_start,
        window_end,
    from chain_b
)

select * from final
