"""The messaging module's storage: tables, repositories, and their group on the unit of work (group.py)."""
