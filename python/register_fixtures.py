"""Logs and registers the fixture models on a real MLflow tracking server, for interop tests.

Usage: .venv/bin/python python/register_fixtures.py <tracking-uri>
Prints one JSON document with what it made: run ids, registered names and versions, aliases and
logged-model ids, so that tests can build every kind of model URI from it.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import mlflow
import onnx
from mlflow import MlflowClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"


def main(tracking_uri: str) -> None:
    warnings.filterwarnings("ignore")
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    mlflow.set_experiment("mldeploy-interop")
    made: dict = {"runs": {}, "registered": {}, "logged_models": {}}

    # Run-artifact models (MLflow 2 style): the fixture folder logged as run artifacts under "model".
    for fixture in ["onnx-iris", "onnx-regressor", "sklearn-iris"]:
        with mlflow.start_run(run_name=fixture) as run:
            mlflow.log_artifacts(str(FIXTURES / fixture), artifact_path="model")
        made["runs"][fixture] = run.info.run_id

    # Registered versions: iris v1 and v2 (v2 carries the alias "champion"), sk-iris v1 ("prod").
    for name, fixture, copies in [("iris", "onnx-iris", 2), ("regressor", "onnx-regressor", 1), ("sk-iris", "sklearn-iris", 1)]:
        versions = []
        for _ in range(copies):
            version = mlflow.register_model(f"runs:/{made['runs'][fixture]}/model", name)
            versions.append(version.version)
        made["registered"][name] = versions
    client.set_registered_model_alias("iris", "champion", made["registered"]["iris"][-1])
    client.set_registered_model_alias("sk-iris", "prod", made["registered"]["sk-iris"][0])
    try:
        client.transition_model_version_stage("iris", made["registered"]["iris"][0], "Staging")
        made["stage"] = "Staging"
    except Exception:  # noqa: BLE001 - stages are deprecated; the test skips them when absent
        made["stage"] = None

    # An MLflow 3 logged model, reachable as models:/m-<id> and through its run as runs:/<run>/<name>.
    with mlflow.start_run(run_name="logged-model") as run:
        info = mlflow.onnx.log_model(onnx.load(str(FIXTURES / "onnx-iris" / "model.onnx")), name="iris_onnx")
    made["logged_models"]["iris_onnx"] = {"model_id": info.model_id, "run_id": run.info.run_id}
    print(json.dumps(made))


if __name__ == "__main__":
    main(sys.argv[1])
