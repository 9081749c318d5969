{#- A boolean SQL expression holds on every row. Fails with the rows where it is false or NULL. -#}
{% test expression_is_true(model, expression) %}

with

source_rows as (

    select * from {{ model }}

),

final as (

    select * from source_rows
    where not coalesce({{ expression }}, false)

)

select * from final

{% endtest %}
