"""The HR module: staff records, key events and performance reviews (docs/hr.md).

The module's services as one namespace: ``services.hr.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.hr.records import HrRecordService
from crm.hr.reviews import ReviewService


@dataclass
class HrServices:
    records: HrRecordService
    reviews: ReviewService
