"""The sales module's storage: the product catalog, categories and per-customer prices."""
