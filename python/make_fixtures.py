"""Writes the real MLflow model directories that mldeploy's tests and examples use.

Run with the project's venv (`.venv/bin/python python/make_fixtures.py`). The outputs are small
and committed under fixtures/models; this script is how they are remade. Training is
deterministic (fixed seeds), so a rerun gives the same predictions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow.sklearn
import numpy as np
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "models"


def sklearn_iris() -> None:
    """A plain scikit-learn pyfunc model (served through MLflow's own scoring server)."""
    iris = load_iris(as_frame=True)
    features = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    model = LogisticRegression(max_iter=500, random_state=0).fit(features, iris.target)
    example = features.iloc[:3]
    target = ROOT / "sklearn-iris"
    shutil.rmtree(target, ignore_errors=True)
    mlflow.sklearn.save_model(
        model,
        str(target),
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
    rows = features.iloc[[0, 50, 100, 1, 51, 101]]
    expected = {
        "input": {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}},
        "predictions": model.predict(rows).tolist(),
    }
    (ROOT / "sklearn-iris.expected.json").write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    np.random.seed(0)
    ROOT.mkdir(parents=True, exist_ok=True)
    sklearn_iris()
    print(f"fixtures written to {ROOT}")
