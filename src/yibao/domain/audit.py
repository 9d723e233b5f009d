"""The audit trail's values and its hash chains: who did what to whose data, and proof of order.

Entries are spread over a fixed number of chains (`CHAINS`). Each entry's hash covers the hash
of the entry before it in its chain, its position in that chain and its content, so changing,
removing or reordering an entry breaks the chain from there on. Many chains rather than one, so
that concurrent appends (every POS sale appends one) do not queue on a single chain head; the
storage side explains how an append takes a head. A chain's head row stores its last position
and hash, which is how removing the last entries of a chain is found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain.idnumber import mask

CHAINS = 64
OK = "ok"

# Column widths; a longer value (a garbled ID number in a refused request, say) is clipped, so
# that recording a refusal never fails because of what was refused.
WIDTHS = {
    "user": 80,
    "role": 20,
    "action": 60,
    "channel": 20,
    "person": 40,
    "resource": 200,
    "outcome": 60,
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The CLI's operating-system user with role "operator", or an API login and its role."""

    user: str
    role: str


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One read or write of a person's data, or its refusal (`outcome` is then the error code)."""

    actor: Actor
    action: str
    channel: str
    person: str | None  # the ID number it concerns
    resource: str
    outcome: str = OK

    def clipped(self) -> AuditEvent:
        """The event as stored: each field within its column, the ID number upper-case."""
        person = self.person.strip().upper() if self.person else None
        return AuditEvent(
            Actor(_clip(self.actor.user, "user"), _clip(self.actor.role, "role")),
            _clip(self.action, "action"),
            _clip(self.channel, "channel"),
            _clip(person, "person") if person else None,
            _clip(self.resource, "resource"),
            _clip(self.outcome, "outcome"),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An event as recorded: where in which chain, when, and its hash."""

    id: int
    chain: int
    seq: int
    recorded_at: dt.datetime
    event: AuditEvent
    hash: str

    @property
    def masked_person(self) -> str:
        return mask(self.event.person) if self.event.person else "-"


class BreakKind(StrEnum):
    CHANGED = "changed"
    REMOVED = "removed"
    REORDERED = "reordered"


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """The first place where a chain does not verify, naming the entry."""

    kind: BreakKind
    chain: int
    seq: int  # the position in the chain where the break is
    entry_id: int | None  # None when the entries removed were a chain's last
    detail: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    chain: int
    seq: int
    hash: str


def genesis(chain: int) -> str:
    """The hash a chain starts from, before its first entry."""
    return hashlib.sha256(f"yibao audit chain {chain}".encode()).hexdigest()


def content(recorded_at: dt.datetime, event: AuditEvent) -> str:
    """The text an entry's hash covers besides its position: unambiguous (a JSON array)."""
    fields = [
        recorded_at.isoformat(sep=" ", timespec="microseconds"),
        event.actor.user,
        event.actor.role,
        event.action,
        event.channel,
        event.person,
        event.resource,
        event.outcome,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


SEPARATOR = "\n"  # between the position and the content


def next_hash(previous: str, seq: int, text: str) -> str:
    """sha256(previous hash bytes || "<seq>\\n<content>" in UTF-8), as hex.

    PostgreSQL computes the same in its append statement; `verify` recomputes it here.
    """
    message = bytes.fromhex(previous) + f"{seq}{SEPARATOR}{text}".encode()
    return hashlib.sha256(message).hexdigest()


def find_break(
    head: ChainHead | None,
    chain: int,
    entries: Iterable[AuditEntry],
    held: Callable[[int], bool],
) -> AuditBreak | None:
    """The first break in one chain, its entries given in the order they were appended (by id).

    `held(seq)` says whether some entry of the chain holds that position: where one is missing
    from its place, whether it was removed or moved elsewhere.
    """
    previous, expected = genesis(chain), 1
    for entry in entries:
        if entry.seq != expected:
            return _misplaced(chain, expected, entry, moved=held(expected))
        if next_hash(previous, entry.seq, content(entry.recorded_at, entry.event)) != entry.hash:
            return AuditBreak(
                BreakKind.CHANGED,
                chain,
                entry.seq,
                entry.id,
                f"entry {entry.id} (chain {chain}, position {entry.seq}) was changed: "
                "its hash does not match its content and the entry before it",
            )
        previous, expected = entry.hash, expected + 1
    last = expected - 1
    if head is None or head.seq != last or head.hash != previous:
        recorded = "no head" if head is None else f"a head at position {head.seq}"
        return AuditBreak(
            BreakKind.REMOVED,
            chain,
            last + 1,
            None,
            f"chain {chain} ends at position {last} but has {recorded}: "
            f"the entries after position {last} were removed (or the head was changed)",
        )
    return None


def _misplaced(chain: int, expected: int, entry: AuditEntry, *, moved: bool) -> AuditBreak:
    if entry.seq > expected and not moved:
        gone = (
            f"position {expected}"
            if entry.seq == expected + 1
            else (f"positions {expected} to {entry.seq - 1}")
        )
        return AuditBreak(
            BreakKind.REMOVED,
            chain,
            expected,
            entry.id,
            f"the entry at {gone} of chain {chain}, before entry {entry.id}, was removed",
        )
    return AuditBreak(
        BreakKind.REORDERED,
        chain,
        expected,
        entry.id,
        f"entry {entry.id} (chain {chain}) holds position {entry.seq} where position "
        f"{expected} was expected: entries were reordered",
    )


def _clip(value: str, field: str) -> str:
    width = WIDTHS[field]
    return value if len(value) <= width else value[: width - 1] + "…"
