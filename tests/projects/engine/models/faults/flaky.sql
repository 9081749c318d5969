{{ config(
    pre_hook="copy (select 1 as attempt) to '{{ env_var(\"ENGINE_ATTEMPTS_DIR\", \"/tmp\") }}/attempt_{{ invocation_id }}.csv'"
) }}

-- Fails with a DuckDB lock-conflict message on the first attempt only (ENGINE_ATTEMPTS_DIR counts
-- attempts): the runner classifies it as transient and the state machine retries it.
with attempts as (
    select count(*) as attempt_count
    from glob('{{ env_var("ENGINE_ATTEMPTS_DIR", "/tmp") }}/attempt_*.csv')
),

final as (
    select
        attempt_count,
        case
            when attempt_count < 2
                then error('IO Error: Could not set lock on file "warehouse.duckdb": Conflicting lock is held')
        end as failure,
    from attempts
)

select * from final
