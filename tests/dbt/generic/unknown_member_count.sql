{#-
  Reports how many rows point at the unknown member (key -1): meant for severity warn, so the run
  goes on and the log says "Got N results" = N rows whose key could not be resolved.
-#}
{% test unknown_member_count(model, column_name, unknown_key=-1) %}

with

source_rows as (

    select * from {{ model }}

),

final as (

    select * from source_rows
    where {{ column_name }} = {{ unknown_key }}

)

select * from final

{% endtest %}
