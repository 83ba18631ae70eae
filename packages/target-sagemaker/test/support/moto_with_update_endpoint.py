"""moto's server with UpdateEndpoint: THE TEST ENVIRONMENT'S PATCH OF MOTO, not part of mldeploy.

moto 5.2.5 models SageMaker models, endpoint configs and endpoints (several weighted variants,
UpdateEndpointWeightsAndCapacities) but answers UpdateEndpoint with 500 (NotImplementedError).
mldeploy's updates, like MLflow's, create a new endpoint config and call UpdateEndpoint, so the
tests need it: this launcher adds it, doing what SageMaker does when the update completes (the
endpoint takes the new config and its variants; it stays InService, as every moto endpoint is),
then starts moto's own server. Usage: python moto_with_update_endpoint.py PORT

Two more test devices, for what moto cannot play (SageMaker's endpoints are InService at once in
moto, and it has no CloudWatch alarms to roll back on):
- an endpoint whose name starts with "slow-" stays Updating for SLOW_UPDATE_SECONDS (env, default
  3600) after an UpdateEndpoint, as a real update takes minutes: for the client's timeouts;
- an update whose DeploymentConfig names the alarm "mldeploy-test-alarm-in-alarm" is rolled back
  as SageMaker rolls back on an alarm: the endpoint stays InService on its old config, with
  a FailureReason; one naming "mldeploy-test-alarm-rollback-fails" ends as SageMaker's
  UpdateRollbackFailed (the rollback failed too), with a FailureReason.
The DeploymentConfig of every update is kept as LastDeploymentConfig; an update without one
and with RetainDeploymentConfig=true keeps (and applies) the last one, as SageMaker does.
"""

import os
import sys
import time

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse


ALARM_IN_ALARM = "mldeploy-test-alarm-in-alarm"
ALARM_ROLLBACK_FAILS = "mldeploy-test-alarm-rollback-fails"
SLOW_UPDATE_SECONDS = float(os.environ.get("SLOW_UPDATE_SECONDS", "3600"))
_updating_until: dict[str, float] = {}


def _update_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    deployment_config: dict | None = None,
    retain_deployment_config: bool = False,
) -> str:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.describe_endpoint_config(endpoint_config_name)
    if deployment_config is None and retain_deployment_config:
        deployment_config = getattr(endpoint, "last_deployment_config", None)
    endpoint.last_deployment_config = deployment_config
    endpoint.last_modified_time = utcnow()
    alarms = [alarm.get("AlarmName") for alarm in ((deployment_config or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
    if ALARM_IN_ALARM in alarms:
        endpoint.failure_reason = f"Rolled back: CloudWatch alarm {ALARM_IN_ALARM} went into ALARM during the deployment"
        return endpoint.arn
    if ALARM_ROLLBACK_FAILS in alarms:
        endpoint.failure_reason = f"CloudWatch alarm {ALARM_ROLLBACK_FAILS} went into ALARM, and the rollback failed"
        endpoint.endpoint_status = "UpdateRollbackFailed"
        return endpoint.arn
    endpoint.failure_reason = None
    if endpoint_name.startswith("slow-"):
        _updating_until[endpoint_name] = time.monotonic() + SLOW_UPDATE_SECONDS
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.data_capture_config = config.get("DataCaptureConfig")
    endpoint.last_modified_time = utcnow()
    return endpoint.arn


def _update_endpoint_response(self: SageMakerResponse) -> ActionResult:
    arn = self.sagemaker_backend.update_endpoint(
        self._get_param("EndpointName"),
        self._get_param("EndpointConfigName"),
        self._get_param("DeploymentConfig"),
        bool(self._get_param("RetainDeploymentConfig")),
    )
    return ActionResult({"EndpointArn": arn})


_describe_endpoint = SageMakerModelBackend.describe_endpoint


def _describe_endpoint_while_updating(self: SageMakerModelBackend, endpoint_name: str) -> dict:
    response = _describe_endpoint(self, endpoint_name)
    if time.monotonic() < _updating_until.get(endpoint_name, 0):
        response["EndpointStatus"] = "Updating"
    return response


SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
SageMakerResponse.update_endpoint = _update_endpoint_response  # type: ignore[attr-defined]
SageMakerModelBackend.describe_endpoint = _describe_endpoint_while_updating  # type: ignore[method-assign]

if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
