with dia_root as (
    select * from {{ ref('dia_root') }}
),

final as (
    select
        id,
        'right' as side,
    from dia_root
    {% if env_var('ENGINE_FAIL_MODEL', '') == this.name %}
    where error('injected failure in {{ this.name }}') is not null
    {% endif %}
)

select * from final
