"""Pure rules: functions of plain values (and a clock passed in), no I/O, no Telegram, no SQL."""
