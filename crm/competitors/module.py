"""The competitors module: the competitor archive, intel from the field, and who won what we lost.

The module's services as one namespace: ``services.competitors.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.competitors.competitors import CompetitorService


@dataclass
class CompetitorsServices:
    competitors: CompetitorService
