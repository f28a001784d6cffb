"""``streamlearn compare TOPIC_A TOPIC_B``: how far two pipelines' outputs agree.

Scenario S5's pre-production test: the same pipeline runs twice, the second copy in its
own consumer group (``--name``) with the candidate model, each writing its own topic.
This command reads both topics to their end, joins the records by their ``sl-id``
header and reports the agreement on one column (the library:
:func:`streamlearn.serve.compare.compare_topics`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from streamlearn.cli.common import (
    Bootstrap,
    KafkaOption,
    SaslPassword,
    SaslUser,
    ensure_reachable,
    kafka_config,
    print_json_line,
)

__all__ = ["compare", "summary_lines"]
console = Console(highlight=False)


def compare(
    topic_a: Annotated[str, typer.Argument(help="The reference output topic.")],
    topic_b: Annotated[str, typer.Argument(help="The candidate output topic.")],
    column: Annotated[
        str, typer.Option("--column", "-c", help="The column to compare (a prediction).")
    ] = "prediction",
    task: Annotated[
        str | None,
        typer.Option(
            help="classification (agreement, confusion) or regression (MAE, RMSE); "
            "default: regression when the values include floats."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds allowed for reading each topic to its end.")
    ] = 60.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
) -> None:
    """Compare COLUMN of two output topics record by record, joined by `sl-id`.

    Reads both topics to their end and prints how many records matched, then the
    agreement and confusion (classification) or MAE, RMSE and the largest difference
    (regression), with a few records that differ.

    Examples:

        streamlearn compare houses-priced houses-priced-v2 --column price

        streamlearn compare fraud-a fraud-b -c prediction --json
    """
    from streamlearn.serve.compare import compare_topics

    config = kafka_config(bootstrap, kafka_option, sasl_username, sasl_password)
    ensure_reachable(config)
    result = compare_topics(config, topic_a, topic_b, column=column, task=task, timeout=timeout)
    if json_out:
        print_json_line(result)
        return
    for line in summary_lines(result):
        console.print(line, soft_wrap=True)


def summary_lines(r: dict[str, Any]) -> list[str]:
    """The human-readable report.

    >>> r = {"topic_a": "a", "topic_b": "b", "column": "y", "task": "classification",
    ...      "matched": 4, "only_in_a": 1, "only_in_b": 0, "a": {"duplicates": 0},
    ...      "b": {"duplicates": 2}, "agreed": 3, "agreement": 0.75,
    ...      "confusion": {"0": {"0": 2}, "1": {"0": 1, "1": 1}}, "examples": []}
    >>> print("\\n".join(summary_lines(r)))
    a vs b on 'y' (classification)
    matched by sl-id: 4; only in a: 1; only in b: 0; repeated ids: 0 / 2
    agreement: 75.00% (3 of 4)
    confusion (rows a, columns b): 0->0: 2, 1->0: 1, 1->1: 1
    """
    lines = [
        f"{r['topic_a']} vs {r['topic_b']} on {r['column']!r} ({r['task']})",
        f"matched by sl-id: {r['matched']}; only in {r['topic_a']}: {r['only_in_a']}; "
        f"only in {r['topic_b']}: {r['only_in_b']}; repeated ids: "
        f"{r['a']['duplicates']} / {r['b']['duplicates']}",
    ]
    if not r["matched"]:
        lines.append("nothing to compare: no sl-id is in both topics")
    elif r["task"] == "classification":
        lines.append(f"agreement: {r['agreement']:.2%} ({r['agreed']} of {r['matched']})")
        cells = [f"{a}->{b}: {n}" for a, row in r["confusion"].items() for b, n in row.items()]
        lines.append("confusion (rows a, columns b): " + ", ".join(cells))
    else:
        lines.append(
            f"MAE {r['mae']:.6g}, RMSE {r['rmse']:.6g}, max |b-a| {r['max_abs_diff']:.6g}, "
            f"mean b-a {r['mean_diff']:.6g}"
        )
    for ex in r["examples"]:
        lines.append(f"  {ex['sl_id']}: {ex['a']!r} vs {ex['b']!r}")
    return lines
