"""What the store answers: the catalog and a purchase's receipt."""

from __future__ import annotations

import uuid
from typing import Literal

from gbc.data.models import StoreItem
from gbc.views import Money, View


class CatalogItem(View):
    id: str
    name: str
    category: str
    description: str | None
    price: Money
    currency: Literal["GBC"] = "GBC"

    @classmethod
    def from_row(cls, item: StoreItem) -> CatalogItem:
        return cls(id=item.id, name=item.name, category=item.category, description=item.description, price=item.price)


class Catalog(View):
    items: list[CatalogItem]


class PurchaseReceipt(View):
    purchase_id: uuid.UUID
    item: CatalogItem
    quantity: int
    total: Money
    balance: Money  # after the debit
