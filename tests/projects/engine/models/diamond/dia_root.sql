with final as (
    select range as id from range(10)
)

select * from final
