{#- The seller a strategy hit, enforcement action, appeal or QA check is about: the target itself
    when it is a seller, else the seller of the target listing. `target` is the alias of the
    relation with `target_type` ('listing' or 'seller', the raw contract's codes) and
    `target_id`; `listings` the alias of a relation with `listing_id` and `seller_id`, joined on
    the listing targets. -#}
{% macro target_seller_id(target, listings='listings') -%}
    case
        when {{ target }}.target_type = 'listing' then {{ listings }}.seller_id
        else {{ target }}.target_id
    end
{%- endmacro %}
