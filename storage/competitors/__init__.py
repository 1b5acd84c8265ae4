"""The competitors module's storage: competitors, their products, intel, opportunity links and losses."""
