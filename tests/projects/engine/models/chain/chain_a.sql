with final as (
    select
        1 as id,
        cast('{{ env_var("STORE_SALES_WINDOW_START", "1900-01-01") }}' as date) as window_start,
        cast('{{ env_var("STORE_SALES_WINDOW_END", "1900-01-01") }}' as date) as window_end,
)

select * from final
