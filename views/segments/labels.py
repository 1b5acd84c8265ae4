"""Names of the segments area's values, shared by its handlers, /nudges and the daily nudge push."""

from __future__ import annotations

from collections.abc import Callable

from crm.customers.model import Classification


def class_label(t: Callable[..., str], value: Classification) -> str:
    """``t`` is ``context.t`` in a handler, or a translator bound to the recipient's language in a job."""
    if value is Classification.POTENTIAL:
        return t("segments.class_potential")
    if value is Classification.GENERAL:
        return t("segments.class_general")
    return t("segments.class_loyal")
