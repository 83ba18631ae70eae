import { MlDeployError } from '@mldeploy/core';
import { readMlModel, type MlModel } from '../models/mlmodel.js';
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
  return chooseFlavor(model, options.flavor) === 'onnx' ? (await onnxModel()).load(model) : PyfuncModel.start(model, options.pyfunc);
}

/**
 * The ONNX model class, imported on first use: onnxruntime-node is an optional dependency (its
 * install script downloads CUDA libraries mldeploy does not use, and npm drops the package where
 * that download cannot be made), so mldeploy must start, and serve pyfunc models, without it.
 *
 * @throws MlDeployError `INVALID_STATE` saying how to install onnxruntime-node when it is missing.
 */
async function onnxModel(): Promise<typeof import('./onnx-model.js').OnnxModel> {
  try {
    return (await import('./onnx-model.js')).OnnxModel;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' || !String(error).includes("'onnxruntime-node'")) throw error;
    throw new MlDeployError('INVALID_STATE', 'ONNX models need the package onnxruntime-node, which is not installed.', {
      cause: error,
      hint: "npm leaves it out when its install script cannot download its optional CUDA libraries (mldeploy runs ONNX on the CPU): install it with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@^1.30.0, or add onnxruntime-node-install=skip to the project's .npmrc.",
    });
  }
}
