{% macro signal_contract() %}
    {#-
    Post-hook of every model in models/gold/signals/: the signal contract, checked on the
    built table, then the model's compiled SQL recorded for in-process evaluation.

    A signal model `gold_signals_<strategy_id>` must hold only its own strategy id, exactly
    one row per (symbol, interval, open_time), no NULL `buy_signal` / `sell_signal`, and a
    row in the `strategies` registry: rules a dbt model contract cannot express. It must
    also have the columns of `signal_contract_columns()` with their types: dbt checks that
    itself for a model with an enforced contract (the bundled ones, in
    _gold_signals__models.yml), this hook for a model without one (a new strategy). Any
    breach stops the build with one message naming the strategy, the model and the column.

    The compiled SQL is appended to `hermes_signal_models` when it changed (in the model's
    transaction; appends only, so models built in parallel do not conflict), so backtests
    with other parameters and grids evaluate exactly the SQL of the snapshot they read
    (the latest row per strategy; see `strategy_parameters`). The SQL recorded is the full
    build's: an incremental build's own parts (set between `/*hermes:incremental*/` and
    `/*hermes:end*/` by `signal_changes`, `signal_lookback` and `signal_new_bars`) are
    removed, so full and incremental builds record the same SQL. When an incremental build
    runs another SQL than the one recorded (the rule or a macro changed), every bar is
    decided again with the new SQL first, as a full build would.
    -#}
    {%- if execute -%}
        {%- set strategy_id = signal_strategy_id() -%}
        {%- set full_sql = modules.re.sub(
            '/\\*hermes:incremental\\*/.*?/\\*hermes:end\\*/', '', model.compiled_code,
            flags=modules.re.DOTALL
        ) -%}
        {%- set records = this.database ~ "." ~ this.schema ~ ".hermes_signal_models" -%}
        {%- set sql_hash = local_md5(full_sql) -%}
        {%- set latest = run_query(
            "select sql_hash from " ~ records ~ " where strategy_id = '" ~ strategy_id
            ~ "' order by built_at desc limit 1"
        ) -%}
        {%- set changed_sql = latest | length == 0 or latest.rows[0][0] != sql_hash -%}
        {%- if changed_sql and full_sql != model.compiled_code -%}
            {%- do run_query("delete from " ~ this) -%}
            {%- do run_query(
                "insert into " ~ this ~ " by name select * from (" ~ full_sql ~ ")"
            ) -%}
        {%- endif -%}
        {%- set where = "signal model " ~ this.identifier ~ " (strategy " ~ strategy_id ~ ")" -%}
        {%- set actual = {} -%}
        {%- set expected = {} -%}
        {%- if not (model.contract and model.contract.enforced) -%}
            {%- do expected.update(signal_contract_columns()) -%}
            {%- for column in adapter.get_columns_in_relation(this) -%}
                {%- do actual.update({column.name | lower: column.dtype | upper}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- for name, dtype in expected.items() -%}
            {%- if name not in actual -%}
                {{ exceptions.raise_compiler_error(where ~ ": column " ~ name ~ " is missing") }}
            {%- elif actual[name] != dtype -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": column " ~ name ~ " is " ~ actual[name] ~ ", expected " ~ dtype
                ) }}
            {%- endif -%}
        {%- endfor -%}
        {%- set checks = run_query(
            "select"
            ~ " count(*) filter (where strategy_id is distinct from '" ~ strategy_id ~ "'),"
            ~ " count(*) filter (where buy_signal is null),"
            ~ " count(*) filter (where sell_signal is null),"
            ~ " count(*) - count(distinct (symbol, interval, open_time)),"
            ~ " (select count(*) from " ~ ref('strategies')
            ~ " where strategy_id = '" ~ strategy_id ~ "')"
            ~ " from " ~ this
        ).rows[0] -%}
        {%- if checks[0] > 0 -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": column strategy_id holds another id than " ~ strategy_id
                ~ " on " ~ checks[0] ~ " rows"
            ) }}
        {%- endif -%}
        {%- for column in ['buy_signal', 'sell_signal'] -%}
            {%- if checks[loop.index] > 0 -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": column " ~ column ~ " is NULL on " ~ checks[loop.index]
                    ~ " rows (decide every bar: coalesce(..., false))"
                ) }}
            {%- endif -%}
        {%- endfor -%}
        {%- if checks[3] > 0 -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": columns (symbol, interval, open_time) hold " ~ checks[3]
                ~ " duplicate rows; a signal model has one row per bar"
            ) }}
        {%- endif -%}
        {%- if checks[4] != 1 -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": no row for " ~ strategy_id ~ " in seeds/strategies.csv"
            ) }}
        {%- endif -%}
        {%- if changed_sql -%}
            {%- do run_query(
                "insert into " ~ records ~ " values ('" ~ strategy_id ~ "', '"
                ~ this.identifier ~ "', '" ~ (full_sql | replace("'", "''"))
                ~ "', '" ~ sql_hash ~ "', now()::timestamp)"
            ) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
