#!/bin/bash
# LocalStack ready hook (mounted at /etc/localstack/init/ready.d): create bucket "wormseal" with
# Object Lock and a default COMPLIANCE retention of 1 day, the configuration `wormseal doctor`
# requires. Idempotent: a container restart with persisted state just re-applies the lock config.
set -euo pipefail

BUCKET=${WORMSEAL_BUCKET:-wormseal}

if awslocal s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
  echo "bucket $BUCKET already exists"
else
  # Object Lock can only be turned on at creation (it also enables versioning).
  awslocal s3api create-bucket --bucket "$BUCKET" --object-lock-enabled-for-bucket
fi

awslocal s3api put-object-lock-configuration --bucket "$BUCKET" --object-lock-configuration \
  '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}'

awslocal s3api get-bucket-versioning --bucket "$BUCKET"
awslocal s3api get-object-lock-configuration --bucket "$BUCKET"
echo "bucket $BUCKET ready (Object Lock, default COMPLIANCE 1 day)"
