{#- Type 2: every natural key has exactly one open version (valid_to is NULL). Fails with the keys that do not. -#}
{% test scd2_one_open_version(model, column_name, valid_to) %}

with

versions as (

    select * from {{ model }}

),

final as (

    select
        {{ column_name }},
        sum(case when {{ valid_to }} is null then 1 else 0 end) as open_versions
    from versions
    group by {{ column_name }}
    having sum(case when {{ valid_to }} is null then 1 else 0 end) <> 1

)

select * from final

{% endtest %}
