"""The contracts module: contracts per customer with their renewal reminders.

The module's services as one namespace: ``services.contracts.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.contracts.contracts import ContractService


@dataclass
class ContractsServices:
    contracts: ContractService
