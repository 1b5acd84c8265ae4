"""The contracts module's storage: contracts, their numbering and their files."""
