"""What each kind of request costs on moto, against a GetItem: the
reference of a first response in BENCHMARKS.md §1 counts every AWS request
as one warm GetItem, so the requests moto answers more slowly make a
function's first response look slower than its own work is.

    python benches/moto_ops.py http://127.0.0.1:PORT   # a running moto server

Prints a Markdown table: median and p90 ms of each operation over 200 calls
(a warm connection), and the ratio of the median to GetItem's. Run by hand
(benches/ANALYSIS.md cites it); never in CI.
"""

import statistics
import sys
import time

import boto3

N = 200


def timed(f):
    f()  # warm
    xs = []
    for _ in range(N):
        t = time.perf_counter()
        f()
        xs.append((time.perf_counter() - t) * 1000)
    xs.sort()
    return statistics.median(xs), xs[int(0.9 * len(xs))]


def main():
    endpoint = sys.argv[1]
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    ddb = boto3.client("dynamodb", **kw)
    sqs = boto3.client("sqs", **kw)
    table = f"ops-{int(time.time())}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    # A partition of 20 items of ~1 KB, like a visit's.
    blob = "x" * 1000
    for i in range(20):
        ddb.put_item(TableName=table, Item={"pk": {"S": "P"}, "sk": {"S": f"I#{i:02}"}, "b": {"S": blob}})
    key = {"pk": {"S": "P"}, "sk": {"S": "I#00"}}
    counter = iter(range(10**9))
    queue = sqs.create_queue(QueueName=table)["QueueUrl"]

    def put():
        n = next(counter)
        ddb.put_item(
            TableName=table,
            Item={"pk": {"S": f"N#{n}"}, "sk": {"S": "S"}, "b": {"S": blob}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def transact():
        n = next(counter)
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": f"T#{n}"}, "sk": {"S": f"{j}"}, "b": {"S": blob}},
                         "ConditionExpression": "attribute_not_exists(pk)"}}
                for j in range(3)
            ]
        )

    ops = [
        ("DynamoDB GetItem", lambda: ddb.get_item(TableName=table, Key=key)),
        ("DynamoDB BatchGetItem (3 keys)", lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [
            {"pk": {"S": "P"}, "sk": {"S": f"I#{i:02}"}} for i in range(3)]}})),
        ("DynamoDB PutItem (conditional, new item)", put),
        ("DynamoDB Query (a partition of 20 items)", lambda: ddb.query(
            TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "P"}})),
        ("DynamoDB TransactWriteItems (3 conditional puts)", transact),
        ("SQS SendMessageBatch (1 message)", lambda: sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "{}"}])),
    ]
    rows = [(name, *timed(f)) for name, f in ops]
    base = rows[0][1]
    print("| request | median ms | p90 ms | ÷ GetItem |\n| --- | ---: | ---: | ---: |")
    for name, med, p90 in rows:
        print(f"| {name} | {med:.2f} | {p90:.2f} | {med / base:.2f}× |")


if __name__ == "__main__":
    main()
