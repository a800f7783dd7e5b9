/**
 * Settings: every `codeflow.*` key that package.json declares goes to the server, nested, as
 * `initializationOptions` and in `workspace/didChangeConfiguration` (`{settings: {codeflow: …}}`).
 * package.json's `contributes.configuration` is generated from the server's
 * `lsp_server/config.py` (`codeflow settings-schema --write`; a Python test fails on drift), so
 * there is no list of keys here: the server validates every value and reports a bad one under the
 * name the user typed. The client checks only the keys it reads itself (how to start the server).
 * No `vscode` import: the extension passes a getter over `WorkspaceConfiguration`.
 */
import pkg from "../../package.json";

/** The nested settings object; typed where the client reads it itself. */
export interface CodeflowSettings {
  serverPath: string;
  pythonPath: string;
  completion: { enabled: boolean; [key: string]: unknown };
  tests: { trusted: boolean; [key: string]: unknown };
  [key: string]: unknown;
}

interface Declared {
  default?: unknown;
}

const PROPERTIES: Record<string, Declared> = pkg.contributes.configuration.properties;

/** Every declared key below `codeflow.` ("completion.maxTokens", …), in package.json order. */
export const SETTING_KEYS: readonly string[] = Object.keys(PROPERTIES).map((k) => k.replace(/^codeflow\./, ""));

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
  // read once when the server indexes the workspace
  "context.exclude",
  "context.maxFileBytes",
  "context.history",
];

export interface SettingsResult {
  settings: CodeflowSettings;
  /** One line per bad value of a key the client itself reads; the default was used instead. */
  problems: string[];
}

function declaredDefault(key: string): unknown {
  return PROPERTIES[`codeflow.${key}`]?.default;
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let node = obj;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** A string key the client uses to start the server: bad values fall back to the default. */
function clientString(get: SettingGetter, key: string, problems: string[]): string {
  const v = get(key);
  const fallback = declaredDefault(key) as string;
  if (v === undefined) return fallback;
  if (typeof v === "string") return v.trim() || fallback;
  problems.push(`codeflow.${key}: expected a string, got ${JSON.stringify(v)}; using the default ${JSON.stringify(fallback)}`);
  return fallback;
}

export function readSettings(get: SettingGetter, keys: readonly string[] = SETTING_KEYS): SettingsResult {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = get(key);
    setPath(out, key, v === undefined ? structuredClone(declaredDefault(key)) : v);
  }
  out.serverPath = clientString(get, "serverPath", problems);
  out.pythonPath = clientString(get, "pythonPath", problems);
  // The server reports a non-boolean value and uses the default; the client agrees with it.
  const completion = (out.completion ??= {}) as Record<string, unknown>;
  completion.enabled = completion.enabled !== false;
  const tests = (out.tests ??= {}) as Record<string, unknown>;
  tests.trusted = tests.trusted === true;
  return { settings: out as CodeflowSettings, problems };
}

/** What the server gets when nothing is set: every declared default. */
export const DEFAULT_SETTINGS: CodeflowSettings = readSettings(() => undefined).settings;

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
