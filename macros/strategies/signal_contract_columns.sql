{% macro signal_contract_columns() %}
    {#-
    The columns every signal model must have, with their DuckDB types: the interface
    backtests, reports, reproduction, the daily flow and paper trading read. Models may
    add component flags (boolean) and the indicator values they decide on (numeric).
    -#}
    {{ return({
        'strategy_id': 'VARCHAR',
        'strategy_version': 'VARCHAR',
        'parameters': 'VARCHAR',
        'symbol': 'VARCHAR',
        'interval': 'VARCHAR',
        'open_time': 'TIMESTAMP',
        'buy_signal': 'BOOLEAN',
        'sell_signal': 'BOOLEAN',
    }) }}
{% endmacro %}
