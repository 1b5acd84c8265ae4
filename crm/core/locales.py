"""The three languages crmbot speaks, and how a Telegram language code maps onto them."""

from __future__ import annotations

EN = "en"
ZH_HANT = "zh-Hant"
ZH_HANS = "zh-Hans"
SUPPORTED: tuple[str, ...] = (EN, ZH_HANT, ZH_HANS)

_TRADITIONAL_TAGS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")
_SIMPLIFIED_TAGS = ("zh-hans", "zh-cn", "zh-sg", "zh-my")


def normalize(code: str | None, *, default: str = EN, bare_zh: str = ZH_HANT) -> str:
    """Map an IETF tag (Telegram's ``language_code``) or one of our names to a supported locale.

    A bare ``zh`` says nothing about the script; ``bare_zh`` (a setting) decides.
    """
    if not code:
        return default
    tag = code.strip().replace("_", "-").lower()
    for supported in SUPPORTED:
        if tag == supported.lower():
            return supported
    if tag.startswith(_TRADITIONAL_TAGS):
        return ZH_HANT
    if tag.startswith(_SIMPLIFIED_TAGS):
        return ZH_HANS
    if tag == "zh" or tag.startswith("zh-"):
        return bare_zh
    if tag == "en" or tag.startswith("en-"):
        return EN
    return default
