// The baseline: the least a Node server can do to serve the iris ONNX model over HTTP —
// node:http, JSON.parse, one onnxruntime-node session, JSON.stringify. No validation, no
// protocol handling. Usage: node minimal-server.mjs <model.onnx> <port>
import http from 'node:http';
import * as ort from 'onnxruntime-node';

const [modelPath, port] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath);
const input = session.inputNames[0];

http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const rows = JSON.parse(Buffer.concat(chunks).toString()).inputs;
      const feed = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
      const out = await session.run({ [input]: feed });
      const body = JSON.stringify({
        predictions: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data, Number)])),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
