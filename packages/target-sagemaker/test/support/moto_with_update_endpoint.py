"""moto's server with UpdateEndpoint: THE TEST ENVIRONMENT'S PATCH OF MOTO, not part of mldeploy.

moto 5.2.5 models SageMaker models, endpoint configs and endpoints (several weighted variants,
UpdateEndpointWeightsAndCapacities) but answers UpdateEndpoint with 500 (NotImplementedError).
mldeploy's updates, like MLflow's, create a new endpoint config and call UpdateEndpoint, so the
tests need it: this launcher adds it, doing what SageMaker does when the update completes (the
endpoint takes the new config and its variants; it stays InService, as every moto endpoint is),
then starts moto's own server. Usage: python moto_with_update_endpoint.py PORT
"""

import sys

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse


def _update_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str) -> str:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.describe_endpoint_config(endpoint_config_name)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.data_capture_config = config.get("DataCaptureConfig")
    endpoint.last_modified_time = utcnow()
    return endpoint.arn


def _update_endpoint_response(self: SageMakerResponse) -> ActionResult:
    arn = self.sagemaker_backend.update_endpoint(self._get_param("EndpointName"), self._get_param("EndpointConfigName"))
    return ActionResult({"EndpointArn": arn})


SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
SageMakerResponse.update_endpoint = _update_endpoint_response  # type: ignore[attr-defined]

if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
