{#-
  What strategies read: gold_features alone by default; with
  `--vars '{use_test_features: true}'` the experimental feature models are left-joined on
  (symbol, interval, open_time). A view, so it never copies or rebuilds gold_features. Its
  dbt contract (_gold_features__models.yml) holds the production columns: enforced unless
  the experimental ones are joined on.
-#}
{%- set use_test_features = var('use_test_features') | string | lower in ['true', '1', 'yes'] -%}
{{ config(materialized='view', contract={'enforced': not use_test_features}) }}
{%- set test_models = [
    'gold_features_test_vol_adjusted_rsi',
    'gold_features_test_momentum_score',
    'gold_features_test_mtf_confluence',
] -%}

with

features as (

    select * from {{ ref('gold_features') }}

),
{%- if use_test_features %}
{%- for name in test_models %}

{{ name }} as (

    select * from {{ ref(name) }}

),
{%- endfor %}
{%- endif %}

final as (

    select  -- noqa: LT09
        features.*{% for name in (test_models if use_test_features else []) %},
        {{ name }}.* exclude (symbol, interval, open_time, ingested_at)
        {%- endfor %}
    from features
    {%- for name in (test_models if use_test_features else []) %}
        left join {{ name }} using (symbol, interval, open_time)
    {%- endfor %}

)

select * from final
