{#- The numerator members that a detection strategy's own action put there: one row per metric
    and member (listing, seller or appeal) of the action-based metrics whose counting action
    came from a strategy, with that action and its time. A member counted through several
    actions is attributed to the first (earliest, then lowest action id) of them; members first
    counted through a manual action are not here. The root cause of an alert compares a
    strategy's events after its change with what the strategy did before (governance.alerts).

    - listing_violation_rate / low_quality_listing_rate: violating (low-quality) listings and
      the first counted listing action within the window;
    - bad_seller_onboarding_rate: bad sellers and the removal that counted them;
    - appeal_overturn_rate: overturned appeals and the appealed action. -#}

{%- set listing_metrics = [
    {'metric_name': 'listing_violation_rate', 'flag': 'is_violation_within_7d'},
    {'metric_name': 'low_quality_listing_rate', 'flag': 'is_low_quality_within_7d'},
] -%}

with

listing_outcomes as (

    select * from {{ ref('int_listing_enforcement_outcomes') }}

),

onboarding_outcomes as (

    select * from {{ ref('int_seller_onboarding_outcomes') }}

),

appeal_resolutions as (

    select * from {{ ref('int_appeal_resolutions') }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

{% for listing_metric in listing_metrics %}
    {{ listing_metric.metric_name }}_actions as (

        select
            '{{ listing_metric.metric_name }}' as metric_name,
            listing_outcomes.created_date as metric_date,
            listing_outcomes.region,
            listing_outcomes.category,
            listing_outcomes.listing_id as member_id,
            actions.action_id,
            actions.strategy_id,
            actions.acted_at,
            row_number() over (
                partition by listing_outcomes.listing_id
                order by actions.acted_at, actions.action_id
            ) as action_rank

        from listing_outcomes
        inner join actions
            on
                listing_outcomes.listing_id = actions.target_id
                and listing_outcomes.created_at <= actions.acted_at
                and actions.acted_at
                <= {{ dbt.dateadd('day', listing_action_window_days(), 'listing_outcomes.created_at') }}
        where
            listing_outcomes.{{ listing_metric.flag }}
            and {{ counted_action(listing_metric.metric_name, 'actions') }}
            and not actions.is_overturned

    ),

{% endfor %}

bad_seller_onboarding_rate_actions as (

    select
        'bad_seller_onboarding_rate' as metric_name,
        onboarding_outcomes.onboarded_date as metric_date,
        onboarding_outcomes.region,
        onboarding_outcomes.category,
        onboarding_outcomes.seller_id as member_id,
        actions.action_id,
        actions.strategy_id,
        actions.acted_at,
        row_number() over (
            partition by onboarding_outcomes.seller_id
            order by actions.action_id
        ) as action_rank

    from onboarding_outcomes
    inner join actions
        on
            onboarding_outcomes.seller_id = actions.target_id
            and onboarding_outcomes.first_removal_at = actions.acted_at
    where
        onboarding_outcomes.is_bad_within_30d
        and {{ counted_action('bad_seller_onboarding_rate', 'actions') }}
        and not actions.is_overturned

),

appeal_overturn_rate_actions as (

    select
        'appeal_overturn_rate' as metric_name,
        appeal_resolutions.resolved_date as metric_date,
        appeal_resolutions.region,
        appeal_resolutions.category,
        appeal_resolutions.appeal_id as member_id,
        actions.action_id,
        actions.strategy_id,
        actions.acted_at,
        1 as action_rank

    from appeal_resolutions
    inner join actions
        on appeal_resolutions.action_id = actions.action_id
    where appeal_resolutions.is_overturned

),

{%- set metric_names = [
    'listing_violation_rate',
    'low_quality_listing_rate',
    'bad_seller_onboarding_rate',
    'appeal_overturn_rate',
] %}

unioned as (

    {% for metric_name in metric_names %}
        select
            metric_name,
            metric_date,
            region,
            category,
            member_id,
            action_id,
            strategy_id,
            acted_at,
            action_rank
        from {{ metric_name }}_actions
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    metric_name,
    metric_date,
    region,
    category,
    member_id,
    action_id,
    strategy_id,
    acted_at

from unioned
where
    action_rank = 1
    and strategy_id is not null
