/**
 * The worker's secrets, as far as the trainer is concerned: names that must never be passed to it,
 * and the values that must never leave it through its output (a crash log's tail goes into the next
 * proposer prompt and into the workflow history).
 */

/** Names of variables that hold secrets (API keys, tokens, passwords, the Temporal connection's credentials). */
const SECRET_NAME = /(^ANTHROPIC_|^OPENAI_|^TEMPORAL_|^AWS_|^AZURE_|^GOOGLE_|^GCP_|API_?KEY|SECRET|TOKEN|PASSW|CREDENTIAL|PRIVATE|_AUTH|^DATABASE_URL$|_DSN$|_URL$)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Shorter values are too common to redact without mangling ordinary output (`1`, `true`, a port). */
const MIN_SECRET_LENGTH = 8;

/** The worker's secret values, longest first, so that a secret containing another is redacted whole. */
function secretValues(env: NodeJS.ProcessEnv): { name: string; value: string }[] {
  return Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1].length >= MIN_SECRET_LENGTH && isSecretName(e[0]))
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => b.value.length - a.value.length);
}

/**
 * `text` with every secret value of the worker's environment replaced by `[redacted NAME]`. The
 * trainer never gets these values, but it may have found one elsewhere (a config file, a socket):
 * whatever it prints is scanned before it reaches a prompt, the history or a row.
 */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const { name, value } of secretValues(env)) if (out.includes(value)) out = out.split(value).join(`[redacted ${name}]`);
  return out;
}
