"""费用账单 (M5): what the market API accepted for an instance, priced from the price list, month by month.

Each line is one hour of one metering item: quantity x unit price, rounded half up to the fen; a line
under ¥0.01 rounds to 0, as Alibaba Cloud's bills do. The month's total is the sum of its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .extensions import db
from .models import MarketOrder, MeteringRecord

FEN = Decimal("0.01")
LINES_PER_PAGE = 48


def amount_in_fen(quantity: int, unit_price: Decimal) -> int:
    exact = Decimal(quantity) * Decimal(unit_price)
    if exact < FEN:
        return 0
    return int(exact.quantize(FEN, rounding=ROUND_HALF_UP) / FEN)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime, timezone: str) -> Month:
        local = moment.astimezone(ZoneInfo(timezone))
        return cls(local.year, local.month)

    @classmethod
    def parse(cls, text: str | None, default: Month) -> Month:
        try:
            year, month = (int(part) for part in (text or "").split("-"))
            return cls(year, month) if 2000 <= year <= 2100 and 1 <= month <= 12 else default
        except ValueError:
            return default

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        following = self.next()
        return (
            datetime(self.year, self.month, 1, tzinfo=zone),
            datetime(following.year, following.month, 1, tzinfo=zone),
        )

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class EntityTotal:
    key: str
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class Bill:
    order: MarketOrder
    month: Month
    lines: list[MeteringRecord]  # this page's lines, newest hour first
    totals: list[EntityTotal]
    line_count: int
    page: int
    pages: int

    @property
    def total_fen(self) -> int:
        return sum(total.amount_fen for total in self.totals)


def bill_of(order: MarketOrder, month: Month, timezone: str, page: int = 1) -> Bill:
    start, end = month.bounds(timezone)
    in_month = (
        MeteringRecord.order_id == order.id, MeteringRecord.hour_start >= start, MeteringRecord.hour_start < end,
    )  # fmt: skip
    totals = [
        EntityTotal(key, int(quantity), int(amount))
        for key, quantity, amount in db.session.execute(
            select(MeteringRecord.entity_key, func.sum(MeteringRecord.quantity), func.sum(MeteringRecord.amount_fen))
            .where(*in_month)
            .group_by(MeteringRecord.entity_key)
            .order_by(MeteringRecord.entity_key)
        )
    ]
    count = db.session.execute(select(func.count()).select_from(MeteringRecord).where(*in_month)).scalar_one()
    pages = max(1, -(-count // LINES_PER_PAGE))
    page = min(max(page, 1), pages)
    lines = db.session.scalars(
        select(MeteringRecord)
        .where(*in_month)
        .order_by(MeteringRecord.hour_start.desc(), MeteringRecord.entity_key)
        .offset((page - 1) * LINES_PER_PAGE)
        .limit(LINES_PER_PAGE)
    )
    return Bill(order, month, list(lines), totals, count, page, pages)
