{% macro landed_since_build(built) %}
  {#-
    The condition "landed (or replaced) since `built` was last built": `ingested_at` later
    than the latest `ingested_at` `built` holds (every row when it holds none). One watermark
    for bronze_klines' manifest, the new decoded files it reads, and silver_klines' changed
    rows.
  -#}
  ingested_at > (
      select coalesce(max(built.ingested_at), '1970-01-01'::timestamp)
      from {{ built }} as built
  )
{%- endmacro %}
