-- Fails when ENGINE_FAIL_TEST=dia_join, otherwise checks dia_join holds every id of both sides.
with dia_join as (
    select * from {{ ref('dia_join') }}
),

final as (
    select count(*) as id_count from dia_join
    having count(*) != 10 or '{{ env_var("ENGINE_FAIL_TEST", "") }}' = 'dia_join'
)

select * from final
