import { iamPolicyJson } from './iam-policy.js';
import { IMAGE_VERSION } from './defaults.js';

/** `mldeploy help -t sagemaker`: URIs, config keys (MLflow's, with its defaults), what differs, IAM. */
export function targetHelp(): string {
  return `Target URIs (as MLflow's):
  sagemaker                                   region us-west-2 (MLflow's default), or -C region_name
  sagemaker:/<region>                         e.g. sagemaker:/us-east-1
  sagemaker:/<region>/<assume-role-arn>       assume this role for every call (session mldeploy-sagemaker)
get, list, predict and the endpoint commands take the region from the URI (not -C region_name): give it there.
Credentials come from the AWS SDK's default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN),
AWS_PROFILE and ~/.aws, SSO, container and instance roles. AWS_ENDPOINT_URL(_SAGEMAKER, _S3, ...) point at
other endpoints (VPC endpoints).

A deployment is a SageMaker endpoint. Config keys (-C key=value; MLflow's keys and defaults):
  region_name              AWS region                                            (from the URI, else us-west-2)
  execution_role_arn       the role SageMaker runs the model with                (the caller's own role)
  assume_role_arn          a role to assume for the calls                        (from the URI)
  image_url                the serving image in ECR       (<account>.dkr.ecr.<region>.amazonaws.com/mldeploy-sagemaker:${IMAGE_VERSION})
  bucket                   S3 bucket for model uploads     (mldeploy-sagemaker-<region>-<account>, made if missing)
  instance_type            ml.m4.xlarge; instance_count 1
  variant_name             the production variant's name     (the model's name; a replacing update keeps the running one's)
  serverless_config        JSON: {"MemorySizeInMB": 2048, "MaxConcurrency": 5} instead of instances
  async_inference_config   JSON: SageMaker's AsyncInferenceConfig (predict then goes through S3)
  vpc_config, data_capture_config, env, tags     JSON objects, passed to SageMaker (tag values: strings)
  synchronous              True: wait until InService (or gone)                  (True)
  timeout_seconds          how long to wait       (1200; under a deployment_config, at least its waits + 600)
  archive                  True: keep replaced models, configs and uploads       (False)
  mode                     update: replace (the new model takes all traffic) or add (a new variant at weight 0)
  deployment_config        JSON: SageMaker's DeploymentConfig for creates and updates: BlueGreenUpdatePolicy
                           (ALL_AT_ONCE, CANARY, LINEAR traffic shifting), RollingUpdatePolicy,
                           AutoRollbackConfiguration {"Alarms": [{"AlarmName": "..."}]}. An update that
                           SageMaker rolls back fails with SageMaker's reason.
Bad values are refused before anything is made: unknown keys, booleans other than True/False,
numbers and JSON that do not parse, a misspelt deployment_config key.

An update without -m serves the running model's files again. An endpoint that is Updating (or Failed)
is not changed: INVALID_STATE, before anything is made.

Models: a local MLflow model folder is packed (model.tar.gz; symbolic links as their files, none
may lead out of the folder) and uploaded to the bucket; s3:// URIs
and models:/ URIs of a registry whose artifacts are in S3 are read in place (a folder uncompressed).
Other URIs: 'mldeploy models download -m URI -d DIR' first, then deploy DIR.

Endpoints: 'create-endpoint --endpoint E -C traffic={"a": 90, "b": 10}' makes a SageMaker endpoint E whose
production variants serve deployments a and b's models with those weights (on instances of its own).
'update-endpoint' with the same deployments moves only the weights (UpdateEndpointWeightsAndCapacities);
an update of a deployment rolls every endpoint that serves it onto its new model. predict --endpoint E
is split by SageMaker; the client API pins a variant with predict(name, input, {endpoint: E}).

Predictions: InvokeEndpoint (JSON or CSV, MLflow's scoring protocol), InvokeEndpointAsync for async
endpoints, InvokeEndpointWithResponseStream for predictStream.

IAM: the identity mldeploy runs as needs:
${iamPolicyJson()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
`;
}
