/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver (RBAC on), kube-controller-manager
 * and kube-scheduler, with kwok playing the nodes and the kubelets (pods become Running and Ready
 * without running anything). Every component listens on loopback on ports chosen free at start.
 * The binaries come from scripts/cluster/install (cached outside the clone by version).
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { spawnProcessGroup, type ProcessGroup } from '@mldeploy/core';
import { freePort } from '../../../../test/support/mlflow-scoring-server.js';
import { REPO_ROOT } from '../../../../test/support/paths.js';
import { tempDir } from '../../../../test/support/temp.js';
import { waitFor } from '../../../../test/support/wait-for.js';

/** A running test cluster. */
export interface TestCluster {
  /** The API server's URL (https, loopback). */
  readonly server: string;
  /** The API server's self-signed certificate, PEM: the CA clients trust. */
  readonly caPem: string;
  /** A bearer token of `system:masters`. */
  readonly adminToken: string;
  /** The folder holding the cluster's files (logs in `logs/`). */
  readonly dir: string;
  /**
   * The IP every pod gets: this machine's own (non-loopback) address, so that a process listening
   * there on a container's port is what the pod's Service leads to (kwok runs no container; the
   * API server refuses loopback endpoints). Undefined where the machine has no such address.
   */
  readonly podIP: string | undefined;
  /** Writes a kubeconfig with one context `name` for `token` (default namespace `namespace`); returns its path. */
  kubeconfig(options: { name: string; token: string; namespace?: string }): string;
  /** One API call as the admin. */
  api(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /**
   * A namespace with a service account bound (by a Role) to exactly `rules`; returns a kubeconfig
   * whose only context, `context`, is that account in that namespace.
   */
  accountWith(options: { context: string; namespace: string; rules: readonly unknown[] }): Promise<string>;
  /** Stops every component and waits for them to exit. */
  stop(): Promise<void>;
}

/** The folder with the cluster binaries (bin/) and kwok stages (stages/), installing them when missing. */
function clusterBinaries(): string {
  const out = execFileSync(path.join(REPO_ROOT, 'scripts', 'cluster', 'install'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').at(-1)!;
}

/** The IP ranges: services and the node clear of each other. */
const SERVICE_RANGE = '10.0.0.0/24';
const POD_CIDR = '10.244.0.1/16';
const NODE_IP = '10.240.0.1';

/** This machine's first non-loopback IPv4 address. */
function machineAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;
}

/**
 * kwok's pod-ready stage, changed so that every pod gets its node's IP (as a hostNetwork pod
 * does): the one address on this machine a Service's endpoints may lead to.
 */
function everyPodOnTheNodeIP(stage: string): string {
  const hostNetwork = '( or .spec.hostNetwork false )';
  return stage.includes(hostNetwork) ? stage.replace(hostNetwork, 'true') : stage;
}
const NODE_NAME = 'kwok-node-0';

/**
 * Starts a cluster and resolves once it schedules pods: the API server is ready, the controller
 * manager made the `default` service account, and kwok reports the node Ready.
 */
export async function startTestCluster(label: string): Promise<TestCluster> {
  const install = clusterBinaries();
  const bin = (name: string): string => path.join(install, 'bin', name);
  const dir = tempDir(`kube-${label}`);
  const logs = path.join(dir, 'logs');
  mkdirSync(logs);
  const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
  writeFileSync(path.join(dir, 'tokens.csv'), `${adminToken},admin,admin,system:masters\n`);
  const server = `https://127.0.0.1:${apiPort}`;
  const podIP = machineAddress();
  const groups: ProcessGroup[] = [];
  const start = (name: string, args: string[]): void => {
    const log = path.join(logs, `${name}.log`);
    const out = openSync(log, 'a');
    const group = spawnProcessGroup(bin(name), args, { stdio: ['ignore', out, out] });
    closeSync(out);
    groups.push(group);
  };
  const stop = async (): Promise<void> => {
    // The API server's clients first, etcd last.
    for (const group of groups.slice().reverse()) await group.stop();
  };
  try {
    start('etcd', [
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--log-level=warn',
    ]);
    start('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'certs')}`,
      `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      '--advertise-address=127.0.0.1',
    ]);
    const caPem = await waitFor(
      'the API server to be ready',
      async () => {
        let pem: string;
        try {
          pem = readFileSync(path.join(dir, 'certs', 'apiserver.crt'), 'utf8');
        } catch {
          return undefined;
        }
        const status = await get(`${server}/readyz`, pem, adminToken).catch(() => 0);
        return status === 200 ? pem : undefined;
      },
      60_000,
    );
    const kubeconfig = (options: { name: string; token: string; namespace?: string }): string => {
      const file = path.join(dir, `${options.name}.kubeconfig`);
      writeFileSync(file, kubeconfigText(server, caPem, options), { mode: 0o600 });
      return file;
    };
    const admin = kubeconfig({ name: 'admin', token: adminToken });
    const auth = [`--kubeconfig=${admin}`, `--authentication-kubeconfig=${admin}`, `--authorization-kubeconfig=${admin}`];
    start('kube-controller-manager', [
      ...auth,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${cmPort}`,
      `--service-account-private-key-file=${path.join(dir, 'sa.key')}`,
      `--root-ca-file=${path.join(dir, 'certs', 'apiserver.crt')}`,
      // Keep nodelifecycle: without it the not-ready taint of a new node stays and nothing schedules.
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route',
      // Under CI load kwok renewed the node's lease late, the node went Unknown after the default
      // 50 s and the controller marked every pod NotReady mid-rollout (seen: "0/2 replica(s) ready").
      '--node-monitor-grace-period=10m',
    ]);
    start('kube-scheduler', [...auth, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${schedPort}`]);
    const stages = ['node-initialize', 'node-heartbeat-with-lease', 'pod-ready', 'pod-complete', 'pod-delete']
      .map((stage) => readFileSync(path.join(install, 'stages', `${stage}.yaml`), 'utf8'))
      .map((text) => (podIP === undefined ? text : everyPodOnTheNodeIP(text)))
      .join('\n---\n');
    writeFileSync(path.join(dir, 'kwok.yaml'), stages);
    start('kwok', [
      `--kubeconfig=${admin}`,
      `--config=${path.join(dir, 'kwok.yaml')}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--cidr=${POD_CIDR}`,
      `--node-ip=${podIP ?? NODE_IP}`,
      // With a stages file kwok keeps no node lease unless told how long it lasts: the node went NotReady.
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${kwokPort}`,
    ]);
    const api = (method: string, pathname: string, body?: unknown): Promise<{ status: number; body: unknown }> =>
      call(method, `${server}${pathname}`, caPem, adminToken, body);
    await api('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE_NAME,
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
        labels: { 'kubernetes.io/hostname': NODE_NAME, type: 'kwok' },
      },
      status: {
        allocatable: { cpu: '16', memory: '64Gi', pods: '110', 'nvidia.com/gpu': '1' },
        capacity: { cpu: '16', memory: '64Gi', pods: '110', 'nvidia.com/gpu': '1' },
      },
    });
    await waitFor(
      'the kwok node to be Ready and the default service account to exist',
      async () => {
        const node = (await api('GET', `/api/v1/nodes/${NODE_NAME}`)).body as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
        const account = await api('GET', '/api/v1/namespaces/default/serviceaccounts/default');
        return ready && account.status === 200 ? true : undefined;
      },
      60_000,
    );
    const accountWith = async (options: { context: string; namespace: string; rules: readonly unknown[] }): Promise<string> => {
      const ns = options.namespace;
      const account = options.context;
      const made = (result: { status: number; body: unknown }, what: string): void => {
        if (result.status >= 300 && result.status !== 409)
          throw new Error(`creating ${what}: ${result.status} ${JSON.stringify(result.body)}`);
      };
      made(await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), `namespace ${ns}`);
      made(
        await api('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: account },
        }),
        `service account ${account}`,
      );
      made(
        await api('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: account },
          rules: options.rules,
        }),
        `role ${account}`,
      );
      made(
        await api('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: account },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account },
          subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns }],
        }),
        `role binding ${account}`,
      );
      const token = await api('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${account}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 7200 },
      });
      const value = (token.body as { status?: { token?: string } }).status?.token;
      if (value === undefined) throw new Error(`no token for ${account}: ${token.status} ${JSON.stringify(token.body)}`);
      return kubeconfig({ name: account, token: value, namespace: ns });
    };
    return { server, caPem, adminToken, dir, podIP, kubeconfig, api, accountWith, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message} (component logs in ${logs})`, { cause: error });
  }
}

function kubeconfigText(server: string, caPem: string, options: { name: string; token: string; namespace?: string }): string {
  const ca = Buffer.from(caPem).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': ca } }],
    users: [{ name: options.name, user: { token: options.token } }],
    contexts: [
      {
        name: options.name,
        context: { cluster: 'test', user: options.name, ...(options.namespace === undefined ? {} : { namespace: options.namespace }) },
      },
    ],
    'current-context': options.name,
  });
}

/** One HTTPS call to the API server, trusting its certificate, as `token`. */
function call(method: string, url: string, caPem: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        agent: new Agent({ ca: caPem }),
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Plain text (e.g. /readyz).
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function get(url: string, caPem: string, token: string): Promise<number> {
  return (await call('GET', url, caPem, token)).status;
}
