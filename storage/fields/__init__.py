"""The custom fields module\x27s storage."""
