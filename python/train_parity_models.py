"""Trains the scoring-parity models afresh and registers them on a real MLflow tracking server.

Usage: .venv/bin/python python/train_parity_models.py <tracking-uri>

The parity test (packages/serving/test/scoring-parity.test.ts) serves each model with both
`mlflow models serve` and `mldeploy models serve` from the same `models:/<name>@champion` URI, so
the models are trained at test time rather than read from the recorded fixtures: a change in
scikit-learn, skl2onnx or MLflow shows up as a difference between the two servers. Seeds are
fixed, so two runs give the same models.

Prints one JSON line: {"<model>": {"uri": "models:/<name>@champion", "version": "<n>"}}.
"""

from __future__ import annotations

import json
import sys
import warnings

import mlflow
import mlflow.onnx
import mlflow.sklearn
import numpy as np
from mlflow import MlflowClient
from mlflow.models import infer_signature
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

ALIAS = "champion"
REGRESSOR_COLUMNS = ["age", "bmi", "bp", "s5"]


def regressor() -> tuple:
    """ONNX regressor with a column signature: named double columns, one float32 tensor inside."""
    data = load_diabetes(as_frame=True).frame
    features = data[REGRESSOR_COLUMNS]
    model = LinearRegression().fit(features.to_numpy(np.float32), data["target"])
    onx = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, len(REGRESSOR_COLUMNS)]))], target_opset=17)
    example = features.iloc[:3]
    prediction = model.predict(example.to_numpy(np.float32)).astype(np.float32).reshape(-1, 1)
    return mlflow.onnx.log_model, onx, infer_signature(example, prediction), example


def classifier() -> tuple:
    """ONNX classifier with a tensor signature: one unnamed float32 tensor of shape (-1, 4)."""
    iris = load_iris()
    x = iris.data.astype(np.float32)
    model = LogisticRegression(max_iter=500, random_state=0).fit(x, iris.target)
    onx = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 4]))], options={id(model): {"zipmap": False}}, target_opset=17)
    example = x[:3]
    outputs = {"label": model.predict(example), "probabilities": model.predict_proba(example).astype(np.float32)}
    return mlflow.onnx.log_model, onx, infer_signature(example, outputs), example


def pyfunc() -> tuple:
    """A scikit-learn model that mldeploy serves through MLflow's own scoring server (python_function)."""
    iris = load_iris(as_frame=True)
    features = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    model = LogisticRegression(max_iter=500, random_state=0).fit(features, iris.target)
    example = features.iloc[:3]
    return mlflow.sklearn.log_model, model, infer_signature(example, model.predict(example)), example


def main(tracking_uri: str) -> None:
    warnings.filterwarnings("ignore")
    np.random.seed(0)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("mldeploy-parity")
    client = MlflowClient()
    made = {}
    for key, build in [("regressor", regressor), ("classifier", classifier), ("pyfunc", pyfunc)]:
        log_model, model, signature, example = build()
        name = f"parity-{key}"
        with mlflow.start_run(run_name=name):
            info = log_model(model, name="model", signature=signature, input_example=example, registered_model_name=name)
        version = str(info.registered_model_version)
        client.set_registered_model_alias(name, ALIAS, version)
        made[key] = {"uri": f"models:/{name}@{ALIAS}", "version": version}
    print(json.dumps(made))


if __name__ == "__main__":
    main(sys.argv[1])
