{#- Every non-NULL value lies in [min_value, max_value] (either bound optional). Fails with the outliers. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

with

source_rows as (

    select * from {{ model }}

),

final as (

    select * from source_rows
    where
        1 = 0
        {%- if min_value is not none %}
        or {{ column_name }} < {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} > {{ max_value }}
        {%- endif %}

)

select * from final

{% endtest %}
