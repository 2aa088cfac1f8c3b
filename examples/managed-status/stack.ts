/**
 * How check.ts and status.ts, which run outside the Pulumi program, read the
 * stack's config and outputs: through the Automation API, i.e. the Pulumi CLI.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { SSL_MODES, type SslMode } from "./settings";

/** Connection settings as plain values, read from the stack's config by the scripts. */
export interface StackSettings {
  stackName: string;
  source: { host: string; port: number; database: string; user: string; password: string; sslMode: SslMode };
  connect: { url: string; username?: string; password?: string };
  /** The role the Connect workers log in as (the one the pipeline grants to). */
  connectorUser: string;
  /** PostgreSQL 17 standby with a synchronized copy of the slot (config standbySlot, standbyHost). */
  standby?: { physicalSlot: string; connection?: StackSettings["source"] };
  /** Stack outputs; empty before the first `pulumi up`. */
  outputs: Record<string, unknown>;
}

/**
 * Reads config (secrets decrypted, through `pulumi config --show-secrets`) and
 * outputs of the selected stack, or of `--stack <name>`, in this directory.
 * Needs the Pulumi CLI and access to the stack's backend, like `pulumi up`.
 */
export async function readStack(stackName?: string): Promise<StackSettings> {
  const ws = await LocalWorkspace.create({ workDir: __dirname });
  const name = stackName ?? (await ws.stack())?.name;
  if (!name) throw new Error("no stack selected: run `pulumi stack select <name>` or pass --stack <name>");
  const config = await ws.getAllConfig(name);
  const get = (key: string): string | undefined =>
    Object.entries(config).find(([k]) => k.endsWith(`:${key}`))?.[1].value;
  const need = (key: string): string => {
    const v = get(key);
    if (v === undefined) throw new Error(`stack ${name} has no config "${key}": pulumi config set ${key} <value>`);
    return v;
  };
  const sslMode = (get("pgSslMode") ?? "require") as SslMode;
  if (!SSL_MODES.includes(sslMode)) throw new Error(`pgSslMode must be one of ${SSL_MODES.join(", ")}`);
  const outputs = Object.fromEntries(Object.entries(await ws.stackOutputs(name)).map(([k, v]) => [k, v.value as unknown]));
  const connectUser = get("connectUser");
  const user = need("pgUser");
  const source = {
    host: need("pgHost"),
    port: Number(get("pgPort") ?? 5432),
    database: get("pgDatabase") ?? "defaultdb",
    user,
    password: need("pgPassword"),
    sslMode,
  };
  const standbyOf = (physicalSlot?: string, host?: string) => (physicalSlot ? { physicalSlot, connection: host ? { ...source, host } : undefined } : undefined);
  return {
    stackName: name,
    source,
    connect: {
      url: need("connectUrl"),
      ...(connectUser ? { username: connectUser, password: need("connectPassword") } : {}),
    },
    connectorUser: get("connectorUser") ?? user,
    standby: standbyOf(get("standbySlot"), get("standbyHost")),
    outputs,
  };
}
