"""The custom fields module: fields admins define per kind of record, their values, filtering by them.

The module's services as one namespace: ``services.fields.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.fields.fields import FieldService


@dataclass
class FieldsServices:
    fields: FieldService
