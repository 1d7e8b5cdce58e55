"""What the Python peers do: boto3 upload_fileobj over a streamed requests GET (default TransferConfig).

Usage: python boto3_upload.py <source url> <endpoint url> <bucket> <key>
Region and credentials come from the environment.
"""

import sys

import boto3
import requests

url, endpoint, bucket, key = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint)
with requests.get(url, stream=True, timeout=60) as resp:
    resp.raise_for_status()
    s3.upload_fileobj(resp.raw, bucket, key)
