with final as (
    select range as id from range(3)
)

select * from final
