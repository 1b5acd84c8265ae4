"""The service module's storage: tickets and their entries."""
