{% macro is_incremental() %}
    {#-
    dbt's own is_incremental(), plus one switch for linting: with the var
    `lint_incremental_branches` true (set only by the second pass of `make sql-lint`, through
    .sqlfluff-incremental) every incremental model renders its incremental branch, the SQL a
    daily refresh runs, which a compile against a fresh lake never shows sqlfluff. Not for
    builds: on a lake without the table that branch reads a relation that does not exist.
    -#}
    {%- if var('lint_incremental_branches', false) | string | lower == 'true' -%}
        {{ return(model.config.materialized == 'incremental') }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}
