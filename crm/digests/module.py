"""The digests module: who gets a manager's digest, when, and what it says. ``services.digests.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.digests.digests import DigestService


@dataclass
class DigestsServices:
    digests: DigestService
