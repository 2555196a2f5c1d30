"""The store: its catalogue and what players bought, each purchase with the price it was paid at."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _created_at, _uuid_pk


class StoreItem(Base):
    __tablename__ = "store_items"
    __table_args__ = (CheckConstraint("price >= 0", name="price_non_negative"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"), default=True)
    created_at: Mapped[datetime] = _created_at()


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("total >= 0", name="total_non_negative"),
        Index("ix_purchases_user", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[str] = mapped_column(ForeignKey("store_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal]
    total: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = _created_at()
