{% macro changed_series_rows(name, source, incremental, intervals=none, klines=none, more_changes=none, lookback=none) %}
  {#-
    The CTEs through which an incremental model that follows silver_klines reads its input:
    `name`, the rows of `source` (a CTE with `symbol`, `interval` and `open_time`) with
    `first_changed`, the first candle to rewrite of their series (`changed_series`), only
    the changed series' rows on an incremental run (`incremental`: `cursor_incremental()`);
    on a full build every row, `first_changed` NULL. Before it, on an incremental run:
    `klines`, silver_klines' candles (of the SQL list `intervals` when given), and `changed`,
    one row per changed series. Options:
    - `klines`: the name of a CTE of the model to follow instead (no `klines` CTE rendered);
    - `more_changes`: a select of more (symbol, interval, first_changed) rows, e.g. changes
      the candles do not show; each series starts at the first of its changes;
    - `lookback`: only the rows from `lookback` rows of `source` before `first_changed` on
      (none: the whole series), the rows the model's windows, `lag()`s and `lead()`s reach
      from the rows it writes; 0 for a model whose rows each come from their own bar. Window
      frames are computed from their own rows (`debug_window_mode` of the profile,
      `hermes.lake.WINDOW_MODE`), so they then equal the whole series' to the bit.
    Renders each CTE followed by a comma: call it between `with` and the model's next CTE.
  -#}
  {%- set klines_cte = klines or 'klines' -%}
  {%- if incremental %}
    {%- if not klines %}

    klines as (

        select * from {{ ref('silver_klines') }}
        {%- if intervals %}
        where interval in ({{ intervals }})
        {%- endif %}

    ),
    {%- endif %}

    changed as (

    {%- if more_changes %}

        select
            symbol,
            interval,
            min(first_changed) as first_changed
        from (
            {{ changed_series(klines_cte) }}
            union all
            {{ more_changes }}
        ) as changes
        group by all
    {%- else %}

        {{ changed_series(klines_cte) }}
    {%- endif %}

    ),
    {%- if lookback %}

    read_from as (

        -- the first row to read of each changed series: `lookback` rows before its first
        -- changed one (none: it has fewer, read from its first)
        select
            symbol,
            interval,
            min(open_time) as read_from
        from (
            select
                {{ source }}.symbol,
                {{ source }}.interval,
                {{ source }}.open_time
            from {{ source }}
            inner join changed using (symbol, interval)
            where {{ source }}.open_time < changed.first_changed
            qualify row_number() over (
                partition by {{ source }}.symbol, {{ source }}.interval
                order by {{ source }}.open_time desc
            ) <= {{ lookback | int }}
        ) as earlier
        group by all

    ),
    {%- endif %}
  {%- endif %}

{{ name }} as (

    select
        {{ source }}.*,
        {%- if incremental %}
        changed.first_changed
        {%- else %}
        null::timestamp as first_changed
        {%- endif %}
    from {{ source }}
    {%- if incremental %}
    inner join changed using (symbol, interval)
        {%- if lookback %}
    left join read_from using (symbol, interval)
    where {{ source }}.open_time >= coalesce(read_from.read_from, changed.first_changed)
        {%- elif lookback is not none %}
    where {{ source }}.open_time >= changed.first_changed
        {%- endif %}
    {%- endif %}

),
{%- endmacro %}
