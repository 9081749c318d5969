with dia_left as (
    select * from {{ ref('dia_left') }}
),

dia_right as (
    select * from {{ ref('dia_right') }}
),

final as (
    select
        dia_left.id,
        dia_left.side as left_side,
        dia_right.side as right_side,
    from dia_left
    inner join dia_right on dia_left.id = dia_right.id
)

select * from final
