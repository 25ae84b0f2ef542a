"""The code the example ETL runs inside its AWS Batch jobs (shipped in the job's command).

Stages: ``extract`` writes one partition of synthetic orders to S3, ``transform`` totals one
partition by category, ``load`` merges every partition's totals into one report. Array children
find their partition in ``AWS_BATCH_JOB_ARRAY_INDEX``. Needs only Python 3 and boto3.
"""

from __future__ import annotations

import json
import os
import random
import sys
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CATEGORIES = ("books", "games", "music", "garden", "tools")


def extract(s3: S3Client, bucket: str, prefix: str, index: int, rows: int) -> None:
    rng = random.Random(f"{prefix}/{index}")
    orders = [
        {
            "order_id": f"{index}-{n}",
            "category": rng.choice(CATEGORIES),
            "amount": round(rng.uniform(1, 200), 2),
        }
        for n in range(rows)
    ]
    key = f"{prefix}/raw/part-{index:05d}.jsonl"
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(json.dumps(o) for o in orders).encode())
    print(f"extract partition {index}: {rows} orders -> s3://{bucket}/{key}", flush=True)


def transform(s3: S3Client, bucket: str, prefix: str, index: int) -> None:
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}/raw/part-{index:05d}.jsonl")["Body"].read()
    totals: dict[str, float] = {}
    for line in body.decode().splitlines():
        order = json.loads(line)
        totals[order["category"]] = round(totals.get(order["category"], 0.0) + order["amount"], 2)
    key = f"{prefix}/totals/part-{index:05d}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(totals).encode())
    for category, amount in sorted(totals.items()):
        print(f"transform partition {index}: {category} {amount:.2f}", flush=True)


def load(s3: S3Client, bucket: str, prefix: str) -> None:
    report: dict[str, float] = {}
    partitions = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/totals/"):
        for item in page.get("Contents", []):
            partitions += 1
            totals = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            for category, amount in totals.items():
                report[category] = round(report.get(category, 0.0) + amount, 2)
    document = {
        "partitions": partitions,
        "revenue_by_category": report,
        "revenue": round(sum(report.values()), 2),
    }
    s3.put_object(Bucket=bucket, Key=f"{prefix}/report.json", Body=json.dumps(document).encode())
    print(f"load: {partitions} partitions, revenue {document['revenue']:.2f}", flush=True)
    for category, amount in sorted(report.items()):
        print(f"load: {category:<8} {amount:>12.2f}", flush=True)


def main(argv: list[str]) -> None:
    stage, bucket, prefix, rows = argv
    s3 = boto3.client("s3")
    index = int(os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0"))
    if stage == "extract":
        extract(s3, bucket, prefix, index, int(rows))
    elif stage == "transform":
        transform(s3, bucket, prefix, index)
    elif stage == "load":
        load(s3, bucket, prefix)
    else:
        sys.exit(f"unknown stage {stage!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
