import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointConfigCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import {
  InvokeEndpointAsyncCommand,
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
} from '@aws-sdk/client-sagemaker-runtime';
import {
  MlDeployError,
  PredictionsResponse,
  encodeScoringRequest,
  errorFromBody,
  isMlDeployError,
  parseBodyText,
  pollUntil,
  type EncodedScoringRequest,
  type PredictionInput,
} from '@mldeploy/core';
import { classifyAwsError } from '../aws/aws-errors.js';
import type { AwsSession } from '../aws/aws-session.js';
import { expectedOwner } from '../model/model-data.js';

const TARGET = 'sagemaker';

/** A prediction request: the SageMaker endpoint, a variant to pin (`TargetVariant`), the inputs. */
export interface InvokeRequest {
  readonly endpoint: string;
  readonly variant: string | undefined;
  readonly inputs: PredictionInput;
}

/**
 * The container's own refusal, passed back as the same typed error the scoring server gave
 * (SageMaker wraps it as a `ModelError` with the container's status and body).
 */
function modelError(error: unknown, request: InvokeRequest, region: string): MlDeployError {
  const e = error as { name?: string; OriginalStatusCode?: number; OriginalMessage?: string };
  if (e.name === 'ModelError' && typeof e.OriginalStatusCode === 'number') {
    return errorFromBody(e.OriginalStatusCode, parseBodyText(e.OriginalMessage ?? ''), { target: TARGET });
  }
  return classifyAwsError(error, { action: 'sagemaker:InvokeEndpoint', resource: request.endpoint, region });
}

function decode(body: Uint8Array | undefined): string {
  return Buffer.from(body ?? new Uint8Array()).toString('utf8');
}

/** Where an async endpoint writes its answers, when the endpoint is one (asked once a minute at most). */
type AsyncOutputs = Map<string, { s3OutputPath: string | undefined; at: number }>;
const asyncOutputs = new WeakMap<AwsSession, AsyncOutputs>();

/**
 * The endpoint's async output path (DescribeEndpoint, DescribeEndpointConfig), or `undefined` for
 * a real-time endpoint. Credentials allowed to predict but not to describe (a narrow invoke-only
 * policy) get `undefined` too: the prediction is a plain InvokeEndpoint, as MLflow's always is.
 */
async function asyncOutputOf(session: AwsSession, endpoint: string): Promise<string | undefined> {
  let known = asyncOutputs.get(session);
  if (known === undefined) asyncOutputs.set(session, (known = new Map() as AsyncOutputs));
  const cached = known.get(endpoint);
  if (cached !== undefined && Date.now() - cached.at < 60_000) return cached.s3OutputPath;
  let output: string | undefined;
  try {
    const described = await session.call('sagemaker:DescribeEndpoint', endpoint, () =>
      session.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint })),
    );
    const config = await session.call('sagemaker:DescribeEndpointConfig', described.EndpointConfigName, () =>
      session.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: described.EndpointConfigName })),
    );
    output = config.AsyncInferenceConfig === undefined ? undefined : (config.AsyncInferenceConfig.OutputConfig?.S3OutputPath ?? '');
  } catch (error) {
    if (!(isMlDeployError(error) && error.code === 'PERMISSION_DENIED')) throw error;
    output = undefined;
  }
  known.set(endpoint, { s3OutputPath: output, at: Date.now() });
  return output;
}

function splitS3(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) throw new MlDeployError('INTERNAL_ERROR', `Not an S3 location: ${uri}`, { target: TARGET });
  return { bucket: match[1]!, key: match[2]! };
}

/** The object's text, or `undefined` while it does not exist. */
async function readObject(session: AwsSession, uri: string): Promise<string | undefined> {
  const { bucket, key } = splitS3(uri);
  try {
    const object = await session.call('s3:GetObject', uri, () =>
      session.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...expectedOwner(bucket) })),
    );
    return (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw error;
  }
}

/** The fields InvokeEndpoint and its response-stream form share: the scoring-protocol body, its type, a pinned variant. */
function invocation(
  request: InvokeRequest,
  { contentType, body }: EncodedScoringRequest,
  accept: string,
): { EndpointName: string; Body: Uint8Array; ContentType: string; Accept: string; TargetVariant?: string } {
  return {
    EndpointName: request.endpoint,
    Body: Buffer.from(body, 'utf8'),
    ContentType: contentType,
    Accept: accept,
    ...(request.variant === undefined ? {} : { TargetVariant: request.variant }),
  };
}

/**
 * Predicts with `InvokeEndpoint`, the scoring-protocol body as the serving container takes it
 * (JSON or CSV), or, on an asynchronous endpoint, with `InvokeEndpointAsync`: the input is put
 * beside the endpoint's outputs in S3 and the answer read back when SageMaker has written it.
 */
export async function invokeEndpoint(session: AwsSession, request: InvokeRequest): Promise<PredictionsResponse> {
  const encoded = encodeScoringRequest(request.inputs);
  const asyncOutput = await asyncOutputOf(session, request.endpoint);
  if (asyncOutput !== undefined) return invokeAsync(session, request, asyncOutput, encoded.contentType, encoded.body);
  let answer;
  try {
    answer = await session.runtime.send(new InvokeEndpointCommand(invocation(request, encoded, 'application/json')));
  } catch (error) {
    throw modelError(error, request, session.region);
  }
  return PredictionsResponse.fromJSON(decode(answer.Body));
}

async function invokeAsync(
  session: AwsSession,
  request: InvokeRequest,
  outputPath: string,
  contentType: string,
  body: string,
): Promise<PredictionsResponse> {
  if (outputPath === '') {
    throw new MlDeployError('INVALID_STATE', `Endpoint "${request.endpoint}" is asynchronous but has no S3OutputPath`, { target: TARGET });
  }
  const { bucket } = splitS3(outputPath);
  const inputKey = `mldeploy-async-inputs/${request.endpoint}/${randomUUID()}`;
  const inputLocation = `s3://${bucket}/${inputKey}`;
  await session.call('s3:PutObject', inputLocation, () =>
    session.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: inputKey, Body: body, ContentType: contentType, ...expectedOwner(bucket) }),
    ),
  );
  try {
    let invoked;
    try {
      invoked = await session.runtime.send(
        new InvokeEndpointAsyncCommand({
          EndpointName: request.endpoint,
          InputLocation: inputLocation,
          ContentType: contentType,
          Accept: 'application/json',
        }),
      );
    } catch (error) {
      throw modelError(error, request, session.region);
    }
    const output = invoked.OutputLocation;
    const failure = invoked.FailureLocation;
    if (output === undefined)
      throw new MlDeployError('INTERNAL_ERROR', 'InvokeEndpointAsync returned no OutputLocation', { target: TARGET });
    const text = await pollUntil(
      async () => {
        const answer = await readObject(session, output);
        if (answer !== undefined) return answer;
        const failed = failure === undefined ? undefined : await readObject(session, failure);
        if (failed !== undefined) {
          throw new MlDeployError(
            'INVALID_STATE',
            `The asynchronous prediction of "${request.endpoint}" failed: ${failed.slice(0, 2000)}`,
            {
              target: TARGET,
            },
          );
        }
        return undefined;
      },
      {
        timeoutMs: 15 * 60_000,
        minDelayMs: 200,
        maxDelayMs: 5000,
        onTimeout: () =>
          new MlDeployError('DEADLINE_EXCEEDED', `No answer from "${request.endpoint}" at ${output} within 15 minutes`, {
            target: TARGET,
            hint: 'The request may still be queued: its answer will be written there.',
          }),
      },
    );
    return PredictionsResponse.fromJSON(text);
  } finally {
    await session.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: inputKey, ...expectedOwner(bucket) })).catch(() => undefined);
  }
}

/** A failed response stream: the model's (`ModelStreamError`) or SageMaker's own (`InternalStreamFailure`, worth a retry). */
function streamError(name: 'ModelStreamError' | 'InternalStreamFailure', message: string | undefined, cause?: unknown): MlDeployError {
  return name === 'ModelStreamError'
    ? new MlDeployError('INTERNAL_ERROR', `The model's stream failed: ${message ?? ''}`, { target: TARGET, cause })
    : new MlDeployError('TEMPORARILY_UNAVAILABLE', `SageMaker's stream failed: ${message ?? ''}`, { target: TARGET, cause });
}

/**
 * Streams predictions with `InvokeEndpointWithResponseStream`: the payload parts are read as
 * lines (JSON lines, or server-sent events' `data:` lines), each yielded as a record (a line that
 * is not a JSON object as `{ "data": line }`).
 */
export async function* invokeEndpointStream(
  openSession: () => Promise<AwsSession>,
  request: InvokeRequest,
): AsyncIterable<Record<string, unknown>> {
  const session = await openSession();
  const encoded = encodeScoringRequest(request.inputs);
  let answer;
  try {
    answer = await session.runtime.send(
      new InvokeEndpointWithResponseStreamCommand(
        invocation(request, encoded, 'application/jsonlines, text/event-stream, application/json'),
      ),
    );
  } catch (error) {
    throw modelError(error, request, session.region);
  }
  let pending = '';
  const record = (line: string): Record<string, unknown> | undefined => {
    const text = line.replace(/^data:\s?/, '').trim();
    if (text === '' || line.startsWith(':') || /^(event|id|retry):/.test(line)) return undefined;
    const parsed = parseBodyText(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { data: parsed };
  };
  try {
    for await (const event of answer.Body ?? []) {
      if (event.ModelStreamError !== undefined)
        throw streamError('ModelStreamError', event.ModelStreamError.Message ?? event.ModelStreamError.ErrorCode);
      if (event.InternalStreamFailure !== undefined) throw streamError('InternalStreamFailure', event.InternalStreamFailure.message);
      pending += decode(event.PayloadPart?.Bytes);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const value = record(line);
        if (value !== undefined) yield value;
      }
    }
  } catch (error) {
    // The SDK's stream iterator throws a stream's error events as exceptions of those names.
    if (isMlDeployError(error)) throw error;
    const name = (error as { name?: unknown } | null)?.name;
    const message = error instanceof Error ? error.message : String(error);
    if (name === 'ModelStreamError' || name === 'InternalStreamFailure') throw streamError(name, message, error);
    throw modelError(error, request, session.region);
  }
  const last = record(pending);
  if (last !== undefined) yield last;
}
