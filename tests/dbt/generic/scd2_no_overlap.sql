{#-
  Type 2: the versions of one natural key never overlap and none ends before it starts (valid_to is
  inclusive, NULL = open). Fails with every offending version pair (or single version).
-#}
{% test scd2_no_overlap(model, column_name, version_key, valid_from, valid_to) %}

with

versions as (

    select * from {{ model }}

),

reversed as (

    select
        {{ column_name }} as natural_key,
        {{ version_key }} as version_key,
        {{ version_key }} as other_version_key
    from versions
    where {{ valid_to }} < {{ valid_from }}

),

overlapping as (

    select
        earlier.{{ column_name }} as natural_key,
        earlier.{{ version_key }} as version_key,
        later.{{ version_key }} as other_version_key
    from versions as earlier
    inner join versions as later
        on
            earlier.{{ column_name }} = later.{{ column_name }}
            and earlier.{{ version_key }} <> later.{{ version_key }}
            and earlier.{{ valid_from }} <= later.{{ valid_from }}
            and (earlier.{{ valid_to }} is null or earlier.{{ valid_to }} >= later.{{ valid_from }})

),

final as (

    select * from reversed
    union all
    select * from overlapping

)

select * from final

{% endtest %}
