with final as (
    select range as id from range(5)
)

select * from final
