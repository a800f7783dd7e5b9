/**
 * Settings: the one mapping from the `codeflow.*` configuration (declared in package.json)
 * to the object the server receives as `initializationOptions` and in
 * `workspace/didChangeConfiguration` (`{settings: {codeflow: <this object>}}`).
 * No `vscode` import: the extension passes a getter over `WorkspaceConfiguration`.
 */

export type Provider = "auto" | "cpu" | "cuda";
export type Backend = "local" | "remote";
export type Trace = "off" | "messages" | "verbose";

export interface CodeflowSettings {
  serverPath: string;
  pythonPath: string;
  modelPath: string;
  provider: Provider;
  completion: { enabled: boolean; debounceMs: number | null; maxTokens: number };
  context: { budgetTokens: number };
  chat: { budgetTokens: number; maxTokens: number };
  tests: { command: string; trusted: boolean; runOnSave: boolean };
  backend: Backend;
  remote: { url: string; model: string; apiKeyEnv: string };
  trace: { server: Trace };
}

export const DEFAULT_SETTINGS: CodeflowSettings = Object.freeze({
  serverPath: "codeflow",
  pythonPath: "",
  modelPath: "",
  provider: "auto",
  completion: { enabled: true, debounceMs: null, maxTokens: 64 },
  context: { budgetTokens: 2048 },
  chat: { budgetTokens: 8192, maxTokens: 512 },
  tests: { command: "", trusted: false, runOnSave: false },
  backend: "local",
  remote: { url: "", model: "", apiKeyEnv: "" },
  trace: { server: "off" },
}) as CodeflowSettings;

/** Reads one dotted key below `codeflow.` (e.g. "completion.maxTokens"); undefined = not set. */
export type SettingGetter = (key: string) => unknown;

/** Keys whose change needs a new server process (the rest go through didChangeConfiguration). */
export const RESTART_KEYS: readonly string[] = [
  "serverPath",
  "pythonPath",
  "modelPath",
  "provider",
  "backend",
  "remote.url",
  "remote.model",
  "remote.apiKeyEnv",
];

export interface SettingsResult {
  settings: CodeflowSettings;
  /** One line per bad value; the default was used instead. */
  problems: string[];
}

function pick<T>(
  get: SettingGetter,
  key: string,
  fallback: T,
  ok: (v: unknown) => v is T,
  problems: string[],
): T {
  const v = get(key);
  if (v === undefined) return fallback;
  if (ok(v)) return v;
  problems.push(`codeflow.${key}: ${JSON.stringify(v)} is not valid; using ${JSON.stringify(fallback)}`);
  return fallback;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isPosInt = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && v > 0 && Math.floor(v) === v;
const isDebounce = (v: unknown): v is number | null =>
  v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0);
const oneOf =
  <T extends string>(...xs: T[]) =>
  (v: unknown): v is T =>
    typeof v === "string" && (xs as string[]).includes(v);

export function readSettings(get: SettingGetter): SettingsResult {
  const d = DEFAULT_SETTINGS;
  const p: string[] = [];
  const settings: CodeflowSettings = {
    serverPath: pick(get, "serverPath", d.serverPath, isString, p).trim() || d.serverPath,
    pythonPath: pick(get, "pythonPath", d.pythonPath, isString, p).trim(),
    modelPath: pick(get, "modelPath", d.modelPath, isString, p).trim(),
    provider: pick(get, "provider", d.provider, oneOf<Provider>("auto", "cpu", "cuda"), p),
    completion: {
      enabled: pick(get, "completion.enabled", d.completion.enabled, isBool, p),
      debounceMs: pick(get, "completion.debounceMs", d.completion.debounceMs, isDebounce, p),
      maxTokens: pick(get, "completion.maxTokens", d.completion.maxTokens, isPosInt, p),
    },
    context: { budgetTokens: pick(get, "context.budgetTokens", d.context.budgetTokens, isPosInt, p) },
    chat: {
      budgetTokens: pick(get, "chat.budgetTokens", d.chat.budgetTokens, isPosInt, p),
      maxTokens: pick(get, "chat.maxTokens", d.chat.maxTokens, isPosInt, p),
    },
    tests: {
      command: pick(get, "tests.command", d.tests.command, isString, p),
      trusted: pick(get, "tests.trusted", d.tests.trusted, isBool, p),
      runOnSave: pick(get, "tests.runOnSave", d.tests.runOnSave, isBool, p),
    },
    backend: pick(get, "backend", d.backend, oneOf<Backend>("local", "remote"), p),
    remote: {
      url: pick(get, "remote.url", d.remote.url, isString, p),
      model: pick(get, "remote.model", d.remote.model, isString, p),
      apiKeyEnv: pick(get, "remote.apiKeyEnv", d.remote.apiKeyEnv, isString, p),
    },
    trace: { server: pick(get, "trace.server", d.trace.server, oneOf<Trace>("off", "messages", "verbose"), p) },
  };
  return { settings, problems: p };
}

/** Reads settings from a flat map of dotted keys (tests, the browser-test bridge). */
export function getterFromObject(values: Record<string, unknown>): SettingGetter {
  return (key) => values[key];
}

/** The payload of `workspace/didChangeConfiguration`. */
export function didChangeConfigurationParams(s: CodeflowSettings): { settings: { codeflow: CodeflowSettings } } {
  return { settings: { codeflow: s } };
}

function flatten(obj: unknown, prefix: string, out: Map<string, string>): void {
  if (obj !== null && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else {
    out.set(prefix, JSON.stringify(obj));
  }
}

/** Dotted keys whose values differ between two settings objects. */
export function changedKeys(a: CodeflowSettings, b: CodeflowSettings): string[] {
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  flatten(a, "", fa);
  flatten(b, "", fb);
  const keys = new Set([...fa.keys(), ...fb.keys()]);
  return [...keys].filter((k) => fa.get(k) !== fb.get(k)).sort();
}

export function needsRestart(changed: readonly string[]): boolean {
  return changed.some((k) => RESTART_KEYS.includes(k));
}
