"""The service module: after-sales tickets, their SLA and the customer's rating.

The module's services as one namespace: ``services.service.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.service.tickets import TicketService


@dataclass
class ServiceServices:
    tickets: TicketService
