"""Writes the real MLflow model directories that mldeploy's tests, examples and benchmarks use,
and records how MLflow's own scoring server answers a fixed set of requests to each.

Run with the project's venv: `.venv/bin/python python/make_fixtures.py`. The outputs are small
and committed under fixtures/models; this script is how they are remade. Training is
deterministic, so a rerun gives the same models and answers.

For each model <name> it writes:
- fixtures/models/<name>/            the MLflow model directory (MLmodel, model files, env files)
- fixtures/models/<name>.cases.json  requests and MLflow's answers: [{name, content_type, body,
                                     status, response}], recorded from a live
                                     `mlflow models serve --env-manager local`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow.onnx
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import onnx
import pandas as pd
from mlflow.models import infer_signature
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "models"
VENV_BIN = Path(sys.executable).parent

IRIS = load_iris()
IRIS_ROWS = [0, 50, 100, 1, 51, 101]


def fresh(name: str) -> Path:
    target = ROOT / name
    shutil.rmtree(target, ignore_errors=True)
    return target


def onnx_iris() -> list[dict]:
    """The iris classifier as ONNX: one float tensor input [N, 4]; outputs label and probabilities."""
    x = IRIS.data.astype(np.float32)
    model = LogisticRegression(max_iter=500, random_state=0).fit(x, IRIS.target)
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, 4]))],
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    example = x[:3]
    outputs = {"label": model.predict(example), "probabilities": model.predict_proba(example).astype(np.float32)}
    mlflow.onnx.save_model(onx, str(fresh("onnx-iris")), signature=infer_signature(example, outputs), input_example=example)
    rows = x[IRIS_ROWS].tolist()
    records = [{str(i): v for i, v in enumerate(row)} for row in rows]
    return [
        {"name": "inputs", "body": {"inputs": rows}},
        {"name": "instances", "body": {"instances": rows}},
        {"name": "dataframe_split", "body": {"dataframe_split": {"data": rows}}},
        {"name": "dataframe_split with columns", "body": {"dataframe_split": {"columns": ["0", "1", "2", "3"], "data": rows}}},
        {"name": "dataframe_records", "body": {"dataframe_records": records}},
        {"name": "csv", "content_type": "text/csv", "body": "0,1,2,3\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"},
        {"name": "ints are cast to float32", "body": {"inputs": [[5, 3, 1, 0]]}},
        {"name": "params are ignored", "body": {"inputs": rows[:1], "params": {"anything": 1}}},
        {"name": "wrong width", "body": {"inputs": [[1.0, 2.0, 3.0]]}},
        {"name": "strings", "body": {"inputs": [["a", "b", "c", "d"]]}},
        {"name": "empty inputs", "body": {"inputs": []}},
        *malformed_cases(),
    ]


def onnx_regressor() -> list[dict]:
    """A diabetes regressor as ONNX with named columns: the signature names each column (doubles)."""
    data = load_diabetes(as_frame=True).frame
    columns = ["age", "bmi", "bp", "s5"]
    features = data[columns]
    model = LinearRegression().fit(features.to_numpy(np.float32), data["target"])
    onx = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, len(columns)]))], target_opset=17)
    example = features.iloc[:3]
    prediction = model.predict(example.to_numpy(np.float32)).astype(np.float32).reshape(-1, 1)
    mlflow.onnx.save_model(onx, str(fresh("onnx-regressor")), signature=infer_signature(example, prediction), input_example=example)
    rows = features.iloc[[0, 10, 20, 30]]
    shuffled = rows[["bp", "s5", "age", "bmi"]]
    return [
        {"name": "dataframe_split", "body": {"dataframe_split": {"columns": columns, "data": rows.to_numpy().tolist()}}},
        {"name": "dataframe_split, columns in another order", "body": {"dataframe_split": {"columns": list(shuffled.columns), "data": shuffled.to_numpy().tolist()}}},
        {"name": "dataframe_records", "body": {"dataframe_records": rows.to_dict(orient="records")}},
        {"name": "extra column is ignored", "body": {"dataframe_records": [{**rows.iloc[0].to_dict(), "extra": 1.0}]}},
        {"name": "csv", "content_type": "text/csv", "body": rows.to_csv(index=False)},
        {"name": "integers are safe for double columns", "body": {"dataframe_split": {"columns": columns, "data": [[1, 2, 3, 4]]}}},
        {"name": "missing column", "body": {"dataframe_split": {"columns": ["age", "bmi", "bp"], "data": [[0.1, 0.2, 0.3]]}}},
        {"name": "string in a double column", "body": {"dataframe_records": [{"age": "old", "bmi": 0.1, "bp": 0.1, "s5": 0.1}]}},
    ]


def onnx_multi_input() -> list[dict]:
    """A model with two named inputs of different types: y = a * float(b), a_plus_one = a + 1."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N"])
    b = helper.make_tensor_value_info("b", TensorProto.INT64, ["N"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])
    a1 = helper.make_tensor_value_info("a_plus_one", TensorProto.FLOAT, ["N"])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["b"], ["b_float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["a", "b_float"], ["y"]),
            helper.make_node("Add", ["a", "one"], ["a_plus_one"]),
        ],
        "multi_input",
        [a, b],
        [y, a1],
        initializer=[one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    example = {"a": np.array([1.5, 2.0], dtype=np.float32), "b": np.array([2, 3], dtype=np.int64)}
    outputs = {"y": np.array([3.0, 6.0], dtype=np.float32), "a_plus_one": np.array([2.5, 3.0], dtype=np.float32)}
    mlflow.onnx.save_model(model, str(fresh("onnx-multi-input")), signature=infer_signature(example, outputs), input_example=example)
    return [
        {"name": "inputs dict", "body": {"inputs": {"a": [1.5, 2.0, -1.0], "b": [2, 3, 4]}}},
        {"name": "instances records", "body": {"instances": [{"a": 1.5, "b": 2}, {"a": 2.0, "b": 3}]}},
        {"name": "dataframe_split", "body": {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [2.0, 3]]}}},
        {"name": "missing input", "body": {"inputs": {"a": [1.0]}}},
        {"name": "a list for a multi-input model", "body": {"inputs": [1.0, 2.0]}},
        {"name": "float for an int64 input", "body": {"inputs": {"a": [1.0], "b": [1.5]}}},
    ]


def onnx_types() -> list[dict]:
    """One input of each Open Inference Protocol datatype mldeploy converts: bool, string, int32, float64."""
    inputs = [
        helper.make_tensor_value_info("flag", TensorProto.BOOL, ["N"]),
        helper.make_tensor_value_info("text", TensorProto.STRING, ["N"]),
        helper.make_tensor_value_info("count", TensorProto.INT32, ["N"]),
        helper.make_tensor_value_info("value", TensorProto.DOUBLE, ["N"]),
    ]
    outputs = [
        helper.make_tensor_value_info("not_flag", TensorProto.BOOL, ["N"]),
        helper.make_tensor_value_info("same_text", TensorProto.STRING, ["N"]),
        helper.make_tensor_value_info("count_plus_one", TensorProto.INT32, ["N"]),
        helper.make_tensor_value_info("value_doubled", TensorProto.DOUBLE, ["N"]),
    ]
    graph = helper.make_graph(
        [
            helper.make_node("Not", ["flag"], ["not_flag"]),
            helper.make_node("Identity", ["text"], ["same_text"]),
            helper.make_node("Add", ["count", "one"], ["count_plus_one"]),
            helper.make_node("Mul", ["value", "two"], ["value_doubled"]),
        ],
        "types",
        inputs,
        outputs,
        initializer=[helper.make_tensor("one", TensorProto.INT32, [], [1]), helper.make_tensor("two", TensorProto.DOUBLE, [], [2.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    # No signature: inputs are fed by ONNX input name, with their JSON types.
    mlflow.onnx.save_model(model, str(fresh("onnx-types")))
    return [{"name": "every type", "body": {"inputs": {"flag": [True, False], "text": ["a", "b"], "count": [1, 2], "value": [0.5, 1.5]}}}]


class Sleepy(mlflow.pyfunc.PythonModel):
    """Doubles its input after sleeping `sleep_seconds` (a param): a slow model for timeout and shutdown tests."""

    def predict(self, context, model_input, params=None):
        time.sleep(float((params or {}).get("sleep_seconds", 0)))
        return model_input * 2


def pyfunc_sleepy() -> list[dict]:
    example = pd.DataFrame({"x": [1.0, 2.0]})
    mlflow.pyfunc.save_model(
        str(fresh("pyfunc-sleepy")),
        python_model=Sleepy(),
        signature=infer_signature(example, example, params={"sleep_seconds": 0.0}),
        input_example=(example, {"sleep_seconds": 0.0}),
    )
    return [
        {"name": "doubles", "body": {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5]]}}},
        {"name": "params", "body": {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}, "params": {"sleep_seconds": 0.1}}},
    ]


def sklearn_iris() -> list[dict]:
    """A plain scikit-learn pyfunc model (served through MLflow's own scoring server)."""
    iris = load_iris(as_frame=True)
    features = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    model = LogisticRegression(max_iter=500, random_state=0).fit(features, iris.target)
    example = features.iloc[:3]
    mlflow.sklearn.save_model(
        model,
        str(fresh("sklearn-iris")),
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
    rows = features.iloc[IRIS_ROWS]
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    (ROOT / "sklearn-iris.expected.json").write_text(
        json.dumps({"input": {"dataframe_split": split}, "predictions": model.predict(rows).tolist()}, indent=2) + "\n"
    )
    return [
        {"name": "dataframe_split", "body": {"dataframe_split": split}},
        {"name": "dataframe_records", "body": {"dataframe_records": rows.to_dict(orient="records")}},
        {"name": "csv", "content_type": "text/csv", "body": rows.to_csv(index=False)},
        {"name": "missing column", "body": {"inputs": [[1, 2, 3, 4]]}},
        *malformed_cases(),
    ]


def malformed_cases() -> list[dict]:
    """Requests that are wrong whatever the model: MLflow's answers to each are the reference."""
    return [
        {"name": "invalid JSON", "body_text": '{"inputs": [1,'},
        {"name": "top-level list", "body": [[1, 2, 3, 4]]},
        {"name": "top-level number", "body": 5},
        {"name": "no format key", "body": {"data": [[1, 2, 3, 4]]}},
        {"name": "two format keys", "body": {"inputs": [[1, 2, 3, 4]], "instances": [[1, 2, 3, 4]]}},
        {"name": "dataframe_split not a dict", "body": {"dataframe_split": [[1, 2, 3, 4]]}},
        {"name": "dataframe_split without data", "body": {"dataframe_split": {"columns": ["a"]}}},
        {"name": "dataframe_records not a list", "body": {"dataframe_records": {"a": 1}}},
        {"name": "unsupported content type", "content_type": "text/plain", "body_text": "1,2,3,4"},
        {"name": "charset other than utf-8", "content_type": "application/json; charset=latin-1", "body": {"inputs": [[1, 2, 3, 4]]}},
        {"name": "MLflow 1.x format parameter", "content_type": "application/json; format=pandas-split", "body": {"inputs": [[1, 2, 3, 4]]}},
        {"name": "empty CSV", "content_type": "text/csv", "body_text": ""},
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(name: str, cases: list[dict]) -> None:
    """Sends every case to a live `mlflow models serve` and writes what it answered."""
    port = free_port()
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(
        [str(VENV_BIN / "mlflow"), "models", "serve", "-m", str(ROOT / name), "-p", str(port), "-h", "127.0.0.1", "--env-manager", "local"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mlflow models serve for {name} did not start")
                time.sleep(0.2)
        recorded = []
        for case in cases:
            content_type = case.get("content_type", "application/json")
            text = case["body_text"] if "body_text" in case else (case["body"] if isinstance(case["body"], str) else json.dumps(case["body"]))
            request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=text.encode(), method="POST", headers={"Content-Type": content_type})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload = response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                status, payload = error.code, error.read().decode()
            try:
                parsed = json.loads(payload)
            except json.JSONDecodeError:
                parsed = payload
            if isinstance(parsed, dict):
                parsed.pop("stack_trace", None)
            recorded.append({"name": case["name"], "content_type": content_type, "body": text, "status": status, "response": parsed})
        (ROOT / f"{name}.cases.json").write_text(json.dumps(recorded, indent=2) + "\n")
    finally:
        os.killpg(server.pid, 15)
        server.wait()


if __name__ == "__main__":
    np.random.seed(0)
    ROOT.mkdir(parents=True, exist_ok=True)
    models = [
        ("onnx-iris", onnx_iris),
        ("onnx-regressor", onnx_regressor),
        ("onnx-multi-input", onnx_multi_input),
        ("onnx-types", onnx_types),
        ("pyfunc-sleepy", pyfunc_sleepy),
        ("sklearn-iris", sklearn_iris),
    ]
    for model_name, make in models:
        record(model_name, make())
        print(f"wrote {ROOT / model_name}")
