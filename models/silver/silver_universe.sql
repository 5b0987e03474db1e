{#-
  The universe in force, one row per (symbol, interval) series it lists: the CSV file (the
  seed's columns) the `universe_csv` var names, which Hermes sets from its setting
  HERMES_UNIVERSE (the seed's own file by default, so a selection without the seed still
  builds), or the dbt seed `universe` when the var is empty (a plain `dbt build`). The same rows as Python's
  `hermes.universe.listed_series()`, so SQL readers filter by the universe Hermes follows.
-#}
-- depends_on: {{ ref('universe') }}
{%- set universe_csv = var('universe_csv') | string %}
{%- if "'" in universe_csv %}
  {{ exceptions.raise_compiler_error("universe_csv must not contain a quote: " ~ universe_csv) }}
{%- endif %}
with

listings as (

    {% if universe_csv %}
        select * from read_csv(
            '{{ universe_csv }}',
            header = true,
            auto_detect = false,
            columns = {
                'symbol': 'varchar',
                'intervals': 'varchar',
                'listed_on': 'date',
                'delisted_on': 'date',
                'status': 'varchar'
            }
        )
    {% else %}
        select * from {{ ref('universe') }}
    {% endif %}

),

series as (

    select
        symbol,
        unnest(string_split(intervals, '|')) as interval,
        listed_on,
        delisted_on,
        status
    from listings

),

listed as (

    select
        symbol,
        interval,
        listed_on,
        delisted_on,
        status
    from series
    where interval != ''

)

select * from listed
