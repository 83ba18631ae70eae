import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTo, post, recordedCases, serveFixture, type RunningServer } from './support.js';

/**
 * Where mldeploy answers differently from MLflow on purpose. Each is in docs/mlflow-compatibility.md.
 */
const DEVIATIONS: Record<string, { status: number; why: string }> = {
  'onnx-iris/csv': {
    status: 200,
    why: 'MLflow fails CSV input for tensor-signature models ("TensorSpec only supports numpy types"); mldeploy reads it',
  },
  'onnx-multi-input/float for an int64 input': {
    status: 400,
    why: 'MLflow silently truncates 1.5 to 1 for an int64 input; mldeploy refuses to lose data',
  },
  'onnx-types/every type': {
    status: 200,
    why: 'MLflow feeds JSON integers as int64 to an int32 input and onnxruntime rejects them; mldeploy converts to the input type',
  },
};

for (const fixture of ['onnx-iris', 'onnx-regressor', 'onnx-multi-input', 'onnx-types']) {
  describe(`${fixture}: mldeploy answers the requests MLflow's scoring server answered`, () => {
    let running: RunningServer;
    beforeAll(async () => {
      running = await serveFixture(fixture);
    });
    afterAll(async () => {
      await running?.server.stop();
    });

    for (const recorded of recordedCases(fixture)) {
      const deviation = DEVIATIONS[`${fixture}/${recorded.name}`];
      it(`${recorded.name}${deviation === undefined ? '' : ` (deviation: ${deviation.why})`}`, async () => {
        const { status, body } = await post(`${running.url}/invocations`, recorded.body, recorded.content_type);
        if (deviation !== undefined) {
          expect(status).toBe(deviation.status);
          expect(status).not.toBe(recorded.status);
          return;
        }
        expect(status).toBe(recorded.status);
        if (status === 200) {
          expect(
            closeTo(body, recorded.response),
            `${JSON.stringify(body)} differs from MLflow's ${JSON.stringify(recorded.response)}`,
          ).toBe(true);
        } else if (typeof recorded.response === 'object' && recorded.response !== null) {
          expect((body as { error_code: string }).error_code).toBe((recorded.response as { error_code: string }).error_code);
        } else {
          // MLflow answers 415s in plain text; mldeploy sends a JSON error body with a code.
          expect((body as { error_code: string }).error_code).toBe('UNSUPPORTED_MEDIA_TYPE');
        }
      });
    }
  });
}
