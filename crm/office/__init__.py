"""My office: each person's documents, schedule and calendar feed (docs/office.md)."""
