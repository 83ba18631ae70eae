#!/bin/sh
# The entry point of the SageMaker serving image (packages/target-sagemaker/Dockerfile).
#
# SageMaker's contract for an inference container: it runs the image as `docker run IMAGE serve`,
# puts the model (the S3 tar.gz unpacked, or the uncompressed S3 prefix) at /opt/ml/model, and
# sends GET /ping and POST /invocations to port 8080, or to $SAGEMAKER_BIND_TO_PORT when it sets
# it (inference pipelines). Any other first argument runs the mldeploy CLI, as the kubernetes
# target's image does, so that one image also downloads, predicts and prints help.
set -eu

if [ "${1:-}" = serve ]; then
  shift
  # exec: mldeploy becomes the container's main process and gets SageMaker's SIGTERM itself, so
  # that it finishes the requests in flight before the instance goes.
  #
  # --allow-unauthenticated: SageMaker's front end sends no token. It authenticates callers
  # itself (IAM, SigV4 on InvokeEndpoint) and is the only way to the container's network.
  # --timeout 60: InvokeEndpoint gives up after 60 s; a prediction past that has no one waiting.
  # The body limit stays mldeploy's default: the front end enforces SageMaker's payload limit.
  # MLDEPLOY_MODEL_DIR and MLDEPLOY_HOST exist for running this outside SageMaker (tests).
  # Arguments after `serve` go to `models serve` (e.g. --flavor python_function); SageMaker passes none.
  # MLDEPLOY_FLAVOR: the flavor the deployment asked for (-f), which the target puts in the model's environment.
  if [ -n "${MLDEPLOY_FLAVOR:-}" ]; then set -- --flavor "$MLDEPLOY_FLAVOR" "$@"; fi
  exec mldeploy models serve \
    --model-uri "${MLDEPLOY_MODEL_DIR:-/opt/ml/model}" \
    --host "${MLDEPLOY_HOST:-0.0.0.0}" \
    --port "${SAGEMAKER_BIND_TO_PORT:-8080}" \
    --timeout 60 \
    --allow-unauthenticated \
    "$@"
fi
exec mldeploy "$@"
