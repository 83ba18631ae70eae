import { MlDeployError } from '@mldeploy/core';
import { readMlModel, type MlModel } from '../models/mlmodel.js';
import { OnnxModel } from './onnx-model.js';
import { PyfuncModel, type PyfuncWorkerOptions } from './pyfunc-model.js';
import type { ServedModel } from './served-model.js';

/** The flavors mldeploy serves. */
export const SERVABLE_FLAVORS = ['onnx', 'python_function'] as const;

/** A servable flavor. */
export type ServableFlavor = (typeof SERVABLE_FLAVORS)[number];

/**
 * The flavor a model is served with: `requested`, checked, or by default `onnx` when the model
 * has it, else `python_function`.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for an unservable model or flavor,
 * `RESOURCE_DOES_NOT_EXIST` for a flavor the model lacks.
 */
export function chooseFlavor(model: MlModel, requested?: string): ServableFlavor {
  const available = Object.keys(model.flavors);
  const flavor =
    requested ??
    (model.flavors['onnx'] !== undefined ? 'onnx' : model.flavors['python_function'] !== undefined ? 'python_function' : undefined);
  if (flavor === undefined) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `The model in ${model.dir} has no flavor mldeploy can serve (it has ${available.join(', ')}; mldeploy serves ${SERVABLE_FLAVORS.join(', ')})`,
      {
        hint: 'Save the model with a python_function flavor (every mlflow.<flavor>.save_model adds one), or export it to ONNX.',
      },
    );
  }
  if (!(SERVABLE_FLAVORS as readonly string[]).includes(flavor)) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `Flavor ${JSON.stringify(flavor)} cannot be served; mldeploy serves ${SERVABLE_FLAVORS.join(', ')}`,
    );
  }
  if (model.flavors[flavor] === undefined) {
    throw new MlDeployError(
      'RESOURCE_DOES_NOT_EXIST',
      `The model in ${model.dir} has no ${flavor} flavor (it has ${available.join(', ')})`,
    );
  }
  return flavor as ServableFlavor;
}

/**
 * Loads a local MLflow model directory for serving: `onnx` in-process on onnxruntime-node,
 * anything else with a `python_function` flavor through MLflow's own scoring server.
 */
export async function loadServedModel(
  dir: string,
  options: { readonly flavor?: string | undefined; readonly pyfunc: PyfuncWorkerOptions },
): Promise<ServedModel> {
  const model = await readMlModel(dir);
  return chooseFlavor(model, options.flavor) === 'onnx' ? OnnxModel.load(model) : PyfuncModel.start(model, options.pyfunc);
}
