{% macro delete_superseded_candles(silver_relation, bronze_relation) %}
  {#-
    Post-hook of the incremental silver_klines: removes candles whose source file version
    is gone from bronze (a changed archive that no longer carries them) and that no other
    file provides. Candles another file still provides were already re-selected by the
    model, so only orphans remain to delete.
  -#}
  delete from {{ silver_relation }}
  where source_sha256 not in (select distinct source_sha256 from {{ bronze_relation }})
{%- endmacro %}
