"""The replica's lag figures, without a database."""

from __future__ import annotations

from yibao.adapters.replica import ReplicaLag, lsn_number


def test_a_wal_location_is_read_as_bytes_from_its_two_hex_halves() -> None:
    assert lsn_number("0/0") == 0
    assert lsn_number("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_number("1/0") - lsn_number("0/FFFFFFFF") == 1


def test_a_replica_serves_up_to_its_bound_and_not_beyond() -> None:
    assert ReplicaLag(seconds=5.0, bytes=10, bound_seconds=5.0).within_bound
    assert not ReplicaLag(seconds=5.01, bytes=10, bound_seconds=5.0).within_bound
    assert not ReplicaLag(seconds=float("inf"), bytes=10, bound_seconds=5.0).within_bound
