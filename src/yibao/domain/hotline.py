"""The 12393 hotline's voice menu as a pure state machine that a telephony platform can drive.

Each step takes the caller's keypad input and returns the next state and what to say. The
platform keeps the state between steps (it is a small frozen value); the records come from a
`HotlineRecords` implementation, so this module needs no database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from yibao.domain.errors import InvalidInput
from yibao.domain.idnumber import IdNumber
from yibao.domain.money import fen_to_yuan

MAX_IDENTITY_TRIES = 3


class Stage(StrEnum):
    ASK_ID = "ask_id"
    ASK_PASSWORD = "ask_password"
    MENU = "menu"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Call:
    stage: Stage = Stage.ASK_ID
    id_number: str | None = None
    failed_identity: int = 0


@dataclass(frozen=True, slots=True)
class Reasons:
    balance_fen: int
    top_reasons: tuple[str, ...]  # plain-language summaries, most explanatory first
    next_step: str | None


class HotlineRecords(Protocol):
    """What the hotline may read, for the caller who proved who they are."""

    def verify(self, id_number: str, password: str) -> bool: ...
    def medical_balance(self, id_number: str) -> int: ...
    def latest_credit(self, id_number: str) -> tuple[str, int] | None: ...
    def reasons(self, id_number: str) -> Reasons: ...


WELCOME = (
    "Welcome to the medical insurance hotline. 欢迎致电医保服务热线。 "
    "Please enter your 18-character ID number, then press #. X is entered as *."
)
MENU = (
    "Press 1 for your medical account balance, 2 for the latest monthly credit, "
    "3 to hear why your balance is what it is, 9 to repeat, 0 to end the call. "
    "查询余额请按1，最近划账请按2，余额原因请按3，重听请按9，结束请按0。"
)


def start() -> tuple[Call, list[str]]:
    return Call(), [WELCOME]


def press(call: Call, keys: str, records: HotlineRecords) -> tuple[Call, list[str]]:
    """One keypad entry (digits, '*' for X, '#' ends an entry) in the current stage."""
    entry = keys.strip().rstrip("#")
    if call.stage is Stage.ASK_ID:
        return _take_id(call, entry)
    if call.stage is Stage.ASK_PASSWORD:
        return _take_password(call, entry, records)
    if call.stage is Stage.MENU:
        return _menu(call, entry, records)
    return call, ["The call has ended. 通话已结束。"]


def _take_id(call: Call, entry: str) -> tuple[Call, list[str]]:
    try:
        number = IdNumber.parse(entry.replace("*", "X"))
    except InvalidInput:
        return _identity_failed(call, "That is not a valid ID number. 身份证号码有误。")
    return replace(call, stage=Stage.ASK_PASSWORD, id_number=number.value), [
        "Please enter your 6-digit query password, then press #. 请输入6位查询密码。"
    ]


def _take_password(call: Call, entry: str, records: HotlineRecords) -> tuple[Call, list[str]]:
    assert call.id_number is not None
    if not records.verify(call.id_number, entry):
        return _identity_failed(
            replace(call, stage=Stage.ASK_ID, id_number=None),
            "The ID number or password is wrong. 号码或密码错误。",
        )
    return replace(call, stage=Stage.MENU, failed_identity=0), [MENU]


def _identity_failed(call: Call, message: str) -> tuple[Call, list[str]]:
    failed = call.failed_identity + 1
    if failed >= MAX_IDENTITY_TRIES:
        return Call(Stage.ENDED, None, failed), [
            message,
            "Too many failed attempts; please call again later. Goodbye. 再见。",
        ]
    return Call(Stage.ASK_ID, None, failed), [message, WELCOME]


def _menu(call: Call, entry: str, records: HotlineRecords) -> tuple[Call, list[str]]:
    assert call.id_number is not None
    if entry == "1":
        balance = records.medical_balance(call.id_number)
        return call, [
            f"Your medical insurance personal account balance is "
            f"{fen_to_yuan(balance)} yuan. 您的医保个人账户余额为 {fen_to_yuan(balance)} 元。",
            MENU,
        ]
    if entry == "2":
        latest = records.latest_credit(call.id_number)
        if latest is None:
            said = "No monthly credit is on record yet. 暂无划账记录。"
        else:
            said = (
                f"The latest credit was {fen_to_yuan(latest[1])} yuan on {latest[0]}. "
                f"最近一次划账 {fen_to_yuan(latest[1])} 元，日期 {latest[0]}。"
            )
        return call, [said, MENU]
    if entry == "3":
        reasons = records.reasons(call.id_number)
        said = fen_to_yuan(reasons.balance_fen)
        lines = [f"您的余额为 {said} 元。Your balance is {said} yuan."]
        lines += list(reasons.top_reasons) or [
            "您的记录中没有发现异常。Nothing unusual was found in your records."
        ]
        if reasons.next_step:
            lines.append(f"您可以这样做 / What you can do: {reasons.next_step}")
        return call, [*lines, MENU]
    if entry == "9":
        return call, [MENU]
    if entry == "0":
        return replace(call, stage=Stage.ENDED), [
            "Thank you for calling. Goodbye. 感谢来电，再见。"
        ]
    return call, ["Sorry, that is not a menu choice. 输入有误。", MENU]
