with chain_b as (
    select * from {{ ref('chain_b') }}
),

final as (
    select
        id + 1 as id,
        window_start,
        window_end,
    from chain_b
    {% if env_var('ENGINE_FAIL_MODEL', '') == this.name %}
    where error('injected failure in {{ this.name }}') is not null
    {% endif %}
)

select * from final
