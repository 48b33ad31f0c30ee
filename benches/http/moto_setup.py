#!/usr/bin/env python3
"""Seed a running moto_server with one CloudFront distribution and N invalidations.

Usage: moto_setup.py ENDPOINT [N]
Prints the distribution Id on stdout (nothing else), so the caller can build
the ListInvalidations path /2020-05-31/distribution/{Id}/invalidation.
"""
import os
import sys
import time

import boto3

endpoint = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
cf = boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1")

ref = f"cdnsim-bench-{time.time_ns()}"
dist = cf.create_distribution(
    DistributionConfig={
        "CallerReference": ref,
        "Comment": "cdnsim http bench",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "origin1",
                    "DomainName": "origin.example.com",
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "http-only",
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "origin1",
            "ViewerProtocolPolicy": "allow-all",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
)
dist_id = dist["Distribution"]["Id"]

for i in range(count):
    cf.create_invalidation(
        DistributionId=dist_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [f"/bench/path-{i}/*"]},
            "CallerReference": f"{ref}-{i}",
        },
    )

listed = cf.list_invalidations(DistributionId=dist_id)["InvalidationList"]
got = listed.get("Quantity", 0)
if got != count:
    sys.exit(f"moto_setup: expected {count} invalidations listed, got {got}")
print(dist_id)
