"""Receipt photos kept under DATA_DIR besides Telegram's copy (a file id stops working when the bot's token
changes): one file per expense, written by storage/chat_files.py (``0600`` in a ``0700`` folder), since
receipts name people, places and cards."""

from __future__ import annotations

from pathlib import Path

from storage.chat_files import ChatFiles

MAX_RECEIPT_BYTES = 10 * 1024 * 1024  # Telegram's photos are well under this; anything larger is refused


class ReceiptTooLarge(ValueError):
    pass


class ReceiptFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = ChatFiles(folder.parent)

    def save(self, expense_id: int, data: bytes) -> str:
        if len(data) > MAX_RECEIPT_BYTES:
            raise ReceiptTooLarge(f"receipt of {len(data)} bytes")
        return self.files.write(f"{self.folder.name}/expense-{int(expense_id)}.jpg", data)

    def read(self, relative: str) -> bytes:
        return self.files.read(relative)
