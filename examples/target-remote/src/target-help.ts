/** The help text of the remote target. */
export function targetHelp(): string {
  return `Target "remote": model servers that already run elsewhere and speak MLflow's scoring
protocol (mlflow models serve, MLServer with the MLflow runtime, an mldeploy gateway).

Target URI
  remote                 state kept in ~/.mldeploy/remote/state.json
  remote:/ABS/DIR        state kept in /ABS/DIR/state.json

Deployments
  The model URI (-m) is the server's base URL, e.g. http://127.0.0.1:5001. create and update
  check that GET <url>/ping answers 200; get reports whether it is alive now; predict
  forwards to POST <url>/invocations.
  -C timeout=SECONDS         how long a prediction may take (default 60)
  -C ping_timeout=SECONDS    how long /ping may take (default 5)
  -f FLAVOR                  recorded as given (default python_function)

Endpoints (traffic splitting)
  -C traffic='{"a": 90, "b": 10}'   deployment name -> percentage; weights sum to 100 and
                                    name existing deployments. A deployment that receives
                                    traffic cannot be deleted.

run-local
  Runs \`mlflow models serve --env-manager local\` on this machine in the foreground.
  -C port=N (default 5000)  -C host=127.0.0.1|localhost|::1  -C workers=N (default 1)
  -C mlflow=/path/to/mlflow (default: $MLDEPLOY_MLFLOW, else mlflow on PATH)
`;
}
