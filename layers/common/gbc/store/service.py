"""Store catalog and purchases: the debit, its ledger row and the purchase commit together."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from gbc.data.models import Purchase, StoreItem, TransactionType, User
from gbc.data.transaction import unit_of_work
from gbc.errors import NotFound
from gbc.ledger import apply_balance_change
from gbc.messages import AuditLogPayload
from gbc.money import money_str
from gbc.queue.outbox import enqueue_job
from gbc.store.views import Catalog, CatalogItem, PurchaseReceipt


def catalog() -> Catalog:
    with unit_of_work() as uow:
        items = uow.session.scalars(
            select(StoreItem).where(StoreItem.is_active.is_(True)).order_by(StoreItem.category, StoreItem.price)
        )
        return Catalog(items=[CatalogItem.from_row(i) for i in items])


def purchase(user_id: uuid.UUID, item_id: str, quantity: int, currency: str) -> PurchaseReceipt:
    with unit_of_work() as uow:
        item = uow.session.get(StoreItem, item_id)
        if item is None or not item.is_active:
            raise NotFound("no such item", field="itemId")
        order = Purchase(
            id=uuid.uuid4(),
            user_id=user_id,
            item_id=item.id,
            quantity=quantity,
            unit_price=item.price,
            total=item.price * quantity,
            currency=currency,
        )
        balance = uow.session.scalar(select(User.balance).where(User.id == user_id))
        if balance is None:
            raise NotFound("user not found")
        if order.total > 0:
            entry, _ = apply_balance_change(
                uow,
                user_id,
                TransactionType.STORE_PURCHASE,
                -order.total,
                f"purchase:{order.id}",
                {"itemId": item.id, "quantity": quantity},
            )
            balance = entry.balance_after
        uow.session.add(order)
        enqueue_job(
            AuditLogPayload(
                userId=user_id,
                action="store.purchase",
                resource="purchase",
                resourceId=str(order.id),
                newValues={"itemId": item.id, "quantity": quantity, "total": money_str(order.total)},
            ),
            uow,
        )
        return PurchaseReceipt(
            purchase_id=order.id,
            item=CatalogItem.from_row(item),
            quantity=quantity,
            total=order.total,
            balance=balance,
        )
