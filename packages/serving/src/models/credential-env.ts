/**
 * Environment variables that hold credentials for model stores: MLflow's, the clouds' that
 * artifact stores live in, and Databricks'. Only a process that downloads models needs them; a
 * long-running process that serves models (the local target's control plane and its workers)
 * must not hold them, so that neither a bug in it nor anyone who can read its environment
 * (`/proc/<pid>/environ`, a crash dump) can lift the user's keys, and so that it cannot reach a
 * store as the user on a request's behalf. This list is the one place they are named.
 */
const CREDENTIAL_VARIABLES: readonly string[] = [
  // MLflow tracking and registry servers.
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_USERNAME',
  'MLFLOW_TRACKING_PASSWORD',
  'MLFLOW_TRACKING_CLIENT_CERT_PATH',
  // Databricks (MLflow's hosted tracking server and registry).
  'DATABRICKS_TOKEN',
  'DATABRICKS_PASSWORD',
  'DATABRICKS_CLIENT_SECRET',
  // S3 artifact stores.
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  // Azure Blob artifact stores and service principals.
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  // Google Cloud Storage artifact stores (a key file's path).
  'GOOGLE_APPLICATION_CREDENTIALS',
];

/** Every variable with one of these prefixes is a credential (Azure Storage has several: key, SAS token, connection string). */
const CREDENTIAL_PREFIXES: readonly string[] = ['AZURE_STORAGE_'];

/** Whether the environment variable `name` holds a model store credential. */
function isCredentialVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return CREDENTIAL_VARIABLES.includes(upper) || CREDENTIAL_PREFIXES.some((prefix) => upper.startsWith(prefix));
}

/** A copy of `env` without the model store credentials ({@link isCredentialVariable}). */
export function withoutCredentials(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isCredentialVariable(name)));
}
