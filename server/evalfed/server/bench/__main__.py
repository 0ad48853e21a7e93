"""`python -m evalfed.server.bench [--records N] [--[no-]log-trees]`: prints a table, writes
bench-results.json."""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evalfed.server.bench import measures
from evalfed.server.bench.network import BenchNetwork, can_set_apart, node_apart
from evalfed.server.config import NodeConfig

CLI_APART_FILES = 100_000
"""Files the command publishes with the node apart (at most): enough that its start-up (about
0.3 s: the interpreter, imports, listing the folder) weighs little, as in a large folder."""
PG_URL = os.environ.get("EVALFED_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def run(
    records: int, databases: set[str], log_trees: bool = NodeConfig.log_trees
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "cores": os.cpu_count(),
        "records": records,
        "log_trees": log_trees,
    }

    def put(name: str, value: float, unit: str) -> None:
        figures[name] = {"value": round(value, 2), "unit": unit}
        print(f"  {name}: {value:,.{2 if unit == 'ratio' else 1}f} {unit}", flush=True)

    verify = measures.verify_limit()
    put("verify_limit_at_start", verify.rate, "checks/s")
    if "sqlite" in databases:
        _sqlite_figures(records, verify, figures, put, log_trees)
    else:
        put("verify_limit", verify.rate, "checks/s")
    if "postgresql" in databases and postgres_reachable():
        pg = BenchNetwork(PG_URL, log_trees)
        try:
            origin = pg.node("us-aisi", "origin")
            published = measures.publish_rate(pg, origin, records)
            put("publish_rate_postgresql", published.rate, "records/s")
            if log_trees:
                lag = measures.tree_lag(pg, [origin], records)
                put("tree_lag_publish_postgresql_s", lag, "s")
            caught_up = measures.catchup(pg, origin, records, "catchup")
            put("catchup_rate_postgresql", caught_up.rate, "records/s")
            if log_trees:
                lag = measures.tree_lag(pg, [caught_up.node], records)
                put("tree_lag_catchup_postgresql_s", lag, "s")
        finally:
            pg.close()
    return figures


def _sqlite_figures(
    records: int,
    verify: measures.VerifyLimit,
    figures: dict[str, Any],
    put: Callable[[str, float, str], None],
    log_trees: bool,
) -> None:
    """Every figure on the embedded default, SQLite. On a shared machine the speed of the cores
    drifts within one run, so the signature-check floor is measured again between publishing
    and the catch-up and once more after it: each ratio divides by the mean of the two floors
    measured around its own figure (verify_limit is the one around the catch-up). The CPU ratio
    (check CPU per signature over both nodes' CPU per caught-up record) hardly depends on what
    the neighbours do."""
    net = BenchNetwork(log_trees=log_trees)
    try:
        origin = net.node("us-aisi", "origin")
        published = measures.publish_rate(net, origin, records)
        if log_trees:
            put("tree_lag_publish_s", measures.tree_lag(net, [origin], records), "s")
        between = measures.verify_limit()
        caught_up = measures.catchup(net, origin, records, "catchup")
        if log_trees:
            put("tree_lag_catchup_s", measures.tree_lag(net, [caught_up.node], records), "s")
        after = measures.verify_limit()
        put("publish_rate", published.rate, "records/s")
        put("publish_cpu_us", published.cpu_us, "µs/record")
        put("publish_ratio", published.rate / ((verify.rate + between.rate) / 2), "ratio")
        put("verify_limit_before_catchup", between.rate, "checks/s")
        put("catchup_rate", caught_up.rate, "records/s")
        put("verify_limit_after_catchup", after.rate, "checks/s")
        put("verify_limit", (between.rate + after.rate) / 2, "checks/s")
        put("catchup_ratio", caught_up.rate / figures["verify_limit"]["value"], "ratio")
        put("catchup_cpu_us", caught_up.cpu_us, "µs/record")
        put("catchup_cpu_ratio", (between.cpu_us + after.cpu_us) / 2 / caught_up.cpu_us, "ratio")
        put("catchup_peak_rss_mb", caught_up.node.peak_rss_mb(), "MiB")
        relayed = measures.relay_catchup(net, origin, records)
        put("relay_catchup_rate", relayed.rate, "records/s")
        if log_trees:
            put("tree_lag_relay_s", measures.tree_lag(net, relayed.nodes, records), "s")
        p50, p99 = measures.propagation(net, origin, caught_up.node)
        put("propagation_ms_p50", p50, "ms")
        put("propagation_ms_p99", p99, "ms")
        p50, p99 = measures.query_latency(net, origin)
        put("query_ms_p50", p50, "ms")
        put("query_ms_p99", p99, "ms")
        small_origin = net.node("us-aisi", "origin-small")
        measures.publish_rate(net, small_origin, records // 10)
        small = measures.catchup(net, small_origin, records // 10, "catchup-small").node
        put("catchup_peak_rss_mb_tenth", small.peak_rss_mb(), "MiB")
        _cli_figures(net, records // 5, min(records, CLI_APART_FILES), put)
    finally:
        net.close()


def _cli_figures(
    net: BenchNetwork, files: int, apart_files: int, put: Callable[[str, float, str], None]
) -> None:
    """`evalfed publish FOLDER` against the library publishing as many records, each to a new
    node, one right after the other: `files` files with the node on the same cores, then
    (where there are two or more) `apart_files` with the node on a core of its own. The CPU
    ratio (library's CPU per record over the command's per file, the node's included in both)
    is what the rate ratio would be if both kept the cores equally busy: when the two ratios
    match, what the command adds is the work of reading the files, not waiting."""
    library = measures.publish_rate(net, net.node("us-aisi", "origin-library"), files, 30_000_000)
    command = measures.cli_publish_rate(net, net.node("us-aisi", "origin-cli"), files)
    put("cli_publish_rate", command.rate, "files/s")
    put("cli_publish_library_rate", library.rate, "records/s")
    put("cli_publish_ratio", command.rate / library.rate, "ratio")
    put("cli_publish_cpu_us", command.cpu_us, "µs/file")
    put("cli_publish_cpu_ratio", library.cpu_us / command.cpu_us, "ratio")
    if not can_set_apart():
        return
    with node_apart(node := net.node("us-aisi", "origin-library-apart")):
        library = measures.publish_rate(net, node, apart_files, 40_000_000)
    with node_apart(node := net.node("us-aisi", "origin-cli-apart")):
        command = measures.cli_publish_rate(net, node, apart_files)
    put("cli_publish_rate_node_apart", command.rate, "files/s")
    put("cli_publish_library_rate_node_apart", library.rate, "records/s")
    put("cli_publish_ratio_node_apart", command.rate / library.rate, "ratio")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evalfed.server.bench")
    parser.add_argument("--records", type=int, default=100_000, help="N (default 100,000)")
    parser.add_argument("--out", default="bench-results.json")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="which to measure, comma-separated (PostgreSQL only when reachable)",
    )
    parser.add_argument(
        "--log-trees",
        action=argparse.BooleanOptionalAction,
        default=NodeConfig.log_trees,
        help="whether the nodes keep their logs' Merkle trees (default: as a node's default)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    trees = "on" if args.log_trees else "off"
    print(
        f"evalfed benchmark: N = {args.records:,} records, {os.cpu_count()} cores, "
        f"log trees {trees}",
        flush=True,
    )
    figures = run(args.records, {d.strip() for d in args.databases.split(",")}, args.log_trees)
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    table = Table(title=f"evalfed benchmark, N = {args.records:,}")
    for column in ("figure", "value", "unit"):
        table.add_column(column)
    for name, figure in figures.items():
        if isinstance(figure, dict):
            table.add_row(name, f"{figure['value']:,}", figure["unit"])
    Console().print(table)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
