"""The most a POS sale can reach on this server: yibao's own two statements of a card sale run
by pgbench, whose client costs next to nothing, against pgbench tpcb-like in the same run.

    .venv/bin/python bench/sale_ceiling.py --db postgresql://postgres@127.0.0.1:5432/test \\
        [--schema yibao_bench_settle_pooled] [--partitions 120] [--seconds 20]

Runs on a population of `bench/settle.py` (run that first; its schema is reused). Each
transaction reads a random bench card with its holder, institution and the fund's facts (the
statement `services.settlement` runs, as compiled for PostgreSQL) and calls `post_settlement`
for a one-line pharmacy bill with that card's stored PIN hash, as a sale with the right PIN
does. `--partitions N` first gives `ledger_transfer` monthly partitions for the N months
before the bench's sales (empty): how a sale fares in a ledger of N months. Compare the ratio
with `bench/settle.py`'s: the difference is what yibao's own process costs a sale. Prints one
JSON line; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.dialects import postgresql

from settle import AREA, DAY, INSTITUTION, log, pgbench_connection, pgbench_tps
from yibao.adapters.db import make_engine_in_schema, normalize_url
from yibao.domain.months import Month
from yibao.ledger.partitions import prepare_months
from yibao.services.settlement import card_sale, pooled

CARD = "__bench_card__"


def card_read() -> str:
    """The sale's first statement, its card number left to pgbench (`:p`)."""
    statement = card_sale.CARD_FOR_SALE.statement("postgresql")
    params = {"card_no": CARD, "institution": INSTITUTION, **pooled.fact_params(DAY)}
    bound = statement.params(params)
    compiled = bound.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    sql = str(compiled).replace("%%", "%")  # as psycopg would send it
    return sql.replace(f"'{CARD}'", "'B' || lpad(:p::text, 10, '0')")


def script(people: int) -> str:
    """pgbench's transaction. A colon in a string literal is written `\\x3a`: pgbench reads
    `:name` anywhere as a variable."""
    ref = "'pgb-' || :client_id::text || '-' || :r::text"
    book = f"medical{chr(92)}x3a{AREA}"
    payable = f"payable{chr(92)}x3a{INSTITUTION}"
    return "\n".join(
        (
            f"\\set p random(1, {people})",
            "\\set r random(1, 2000000000)",
            re.sub(r"\s+", " ", card_read()) + " \\gset c_",
            "SELECT outcome FROM post_settlement("
            f"E'{book}', 'personal' || chr(58) || :c_id_1::text, E'{payable}', :c_id_2::bigint, "
            f"{ref}, :c_id_1::bigint, :c_id_1::bigint, :c_id::bigint, '{DAY}', 'ceiling', "
            "1000, 1000, "
            """'[{"catalogue_code": "DRUG", "quantity": 1, "amount_fen": 1000, """
            """"account_may_pay": true}]', """
            f"'settle' || chr(58) || '{INSTITUTION}' || chr(58) || {ref}, 'settlement', "
            f"'{INSTITUTION} ceiling', CURRENT_DATE, NULL, 'pharmacy', '0', 0, 0, 'pooled_fund', "
            f"'fund' || chr(58) || '{INSTITUTION}' || chr(58) || {ref}, 'fund_settlement', "
            "'310', '1101', '41', '41', :c_pin_hash, 6);",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="yibao_bench_settle_pooled")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=0)
    parser.add_argument("--pgbench-db", default="pgbench_yibao")
    args = parser.parse_args()

    engine = make_engine_in_schema(args.db, args.schema, pool_size=1)
    with engine.begin() as connection:
        people = connection.execute(
            text("SELECT count(*) FROM card WHERE card_no LIKE 'B%' AND status = 'active'")
        ).scalar_one()
        if not people:
            raise SystemExit(f"no bench cards in schema {args.schema}: run bench/settle.py first")
        if args.partitions:
            months = [Month.of(DAY).plus(-n) for n in range(1, args.partitions + 1)]
            log(f"{len(prepare_months(connection, months))} partitions made")
        partitions = connection.execute(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'ledger_transfer'::regclass")
        ).scalar_one()
    engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "sale.sql"
        file.write_text(script(int(people)))
        log(f"{people} cards, {partitions} partitions; pgbench with the sale, {args.seconds} s")
        ran = subprocess.run(
            ["pgbench", *pgbench_connection(args.db), "-n", "-M", "prepared", "-f", str(file),
             "-c", str(args.clients), "-j", "2", "-T", str(args.seconds),
             make_url(normalize_url(args.db)).database or ""],
            capture_output=True, text=True,
            env={**os.environ, "PGOPTIONS": f"-c search_path={args.schema}"},
        )  # fmt: skip
    found = re.search(r"tps = ([\d.]+) \(without initial", ran.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", ran.stdout)
    if ran.returncode or found is None:
        raise SystemExit(f"pgbench failed:\n{ran.stdout}\n{ran.stderr}")
    log("pgbench tpcb-like ...")
    tps = pgbench_tps(args.db, args.pgbench_db, args.clients, args.seconds)
    sales = float(found.group(1))
    print(
        json.dumps(
            {
                "partitions": int(partitions),
                "clients": args.clients,
                "sales_per_s": round(sales, 1),
                "failed": int(failed.group(1)) if failed else None,
                "pgbench_tps": round(tps, 1),
                "ratio": round(sales / tps, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
