"""The expenses module\x27s storage: categories and expenses."""
