{% macro delete_removed_candles(klines_relation) %}
  {#-
    Post-hook of the incremental models that follow silver_klines through
    `changed_series`: deletes the built rows of `this` whose candle (symbol, interval,
    open_time) `klines_relation` no longer has, e.g. after a re-landed file that carries
    fewer candles replaced its rows. delete+insert only deletes the keys of the new rows,
    so without it those rows would stay and incremental runs would differ from a full
    rebuild. One anti-join over the series keys; on a full build it deletes nothing.
    Mirrored in Python by `hermes.incremental.delete_removed_candles`.
  -#}
  delete from {{ this }} as built
  where not exists (
      select 1
      from {{ klines_relation }} as klines
      where
          klines.symbol = built.symbol
          and klines.interval = built.interval
          and klines.open_time = built.open_time
  )
{%- endmacro %}
