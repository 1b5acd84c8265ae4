"""The segments module: saved customer filters and handing customers over.

The module's services as one namespace: ``services.segments.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.segments.handover import HandoverService
from crm.segments.segments import SegmentService


@dataclass
class SegmentsServices:
    segments: SegmentService
    handover: HandoverService
