-- A test on two independent parents: attached to the first node downstream of both (dia_join).
with dia_left as (
    select * from {{ ref('dia_left') }}
),

dia_right as (
    select * from {{ ref('dia_right') }}
),

final as (
    select dia_left.id from dia_left
    full outer join dia_right on dia_left.id = dia_right.id
    where dia_left.id is null or dia_right.id is null
)

select * from final
