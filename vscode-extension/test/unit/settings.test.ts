import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  changedKeys,
  DEFAULT_SETTINGS,
  didChangeConfigurationParams,
  getterFromObject,
  needsRestart,
  readSettings,
  RESTART_KEYS,
  SETTING_KEYS,
} from "../../src/logic/settings";

const pkg = JSON.parse(readFileSync(path.join(__dirname, "../../package.json"), "utf8"));
const props: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;

function getPath(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

function flatKeys(o: Record<string, unknown>, pre = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? flatKeys(v as Record<string, unknown>, `${pre}${k}.`) : [`${pre}${k}`],
  );
}

describe("settings", () => {
  it("sends the server every key package.json declares, with its default", () => {
    const declared = Object.keys(props).map((k) => k.replace(/^codeflow\./, ""));
    expect(SETTING_KEYS).toEqual(declared);
    expect(flatKeys(DEFAULT_SETTINGS).sort()).toEqual([...declared].sort());
    for (const key of declared) expect(getPath(DEFAULT_SETTINGS, key), key).toEqual(props[`codeflow.${key}`].default);
  });

  it("forwards the settings the docs name that the old hard-coded list dropped", () => {
    const { settings, problems } = readSettings(
      getterFromObject({
        "remote.timeoutS": 90,
        "remote.verifyTls": false,
        "context.exclude": ["dist/**"],
        threads: 4,
        "tests.timeoutS": 600,
        "tests.python": "/w/.venv/bin/python",
        logLevel: "DEBUG",
      }),
    );
    expect(problems).toEqual([]);
    expect(getPath(settings, "remote.timeoutS")).toBe(90);
    expect(getPath(settings, "remote.verifyTls")).toBe(false);
    expect(getPath(settings, "context.exclude")).toEqual(["dist/**"]);
    expect(settings.threads).toBe(4);
    expect(getPath(settings, "tests.timeoutS")).toBe(600);
    expect(getPath(settings, "tests.python")).toBe("/w/.venv/bin/python");
    expect(settings.logLevel).toBe("DEBUG");
  });

  it("maps dotted VS Code keys to the nested camelCase object", () => {
    const { settings, problems } = readSettings(
      getterFromObject({
        "completion.maxTokens": 32,
        "completion.debounceMs": 75,
        "chat.budgetTokens": 4096,
        "chat.maxTokens": 256,
        "tests.trusted": true,
        backend: "remote",
        "remote.url": "http://127.0.0.1:8000/v1",
        "trace.server": "verbose",
      }),
    );
    expect(problems).toEqual([]);
    expect(settings.completion).toEqual({ ...(DEFAULT_SETTINGS.completion as object), debounceMs: 75, maxTokens: 32 });
    expect(settings.chat).toEqual({ ...(DEFAULT_SETTINGS.chat as object), budgetTokens: 4096, maxTokens: 256 });
    expect(settings.tests.trusted).toBe(true);
    expect(settings.backend).toBe("remote");
    expect(getPath(settings, "remote.url")).toBe("http://127.0.0.1:8000/v1");
    expect(getPath(settings, "trace.server")).toBe("verbose");
    expect(didChangeConfigurationParams(settings)).toEqual({ settings: { codeflow: settings } });
  });

  it("passes server values as typed (the server reports bad ones) and checks its own keys", () => {
    const { settings, problems } = readSettings(
      getterFromObject({
        "completion.debounceMs": null,
        "completion.maxTokens": true,
        "completion.enabled": "yes",
        provider: "tpu",
        serverPath: "  ",
        pythonPath: 3,
      }),
    );
    expect(settings.completion.debounceMs).toBeNull();
    expect(settings.completion.maxTokens).toBe(true);
    expect(settings.completion.enabled).toBe(true);
    expect(settings.provider).toBe("tpu");
    expect(settings.serverPath).toBe("codeflow");
    expect(settings.pythonPath).toBe("");
    expect(problems).toEqual(['codeflow.pythonPath: expected a string, got 3; using the default ""']);
  });

  it("restarts only for keys that change the process, the model or the index", () => {
    const a = readSettings(getterFromObject({})).settings;
    const b = readSettings(getterFromObject({ "completion.maxTokens": 16 })).settings;
    const c = readSettings(getterFromObject({ modelPath: "/m", "completion.maxTokens": 16 })).settings;
    expect(changedKeys(a, a)).toEqual([]);
    expect(changedKeys(a, b)).toEqual(["completion.maxTokens"]);
    expect(needsRestart(changedKeys(a, b))).toBe(false);
    expect(changedKeys(a, c)).toEqual(["completion.maxTokens", "modelPath"]);
    expect(needsRestart(changedKeys(a, c))).toBe(true);
    for (const key of RESTART_KEYS) expect(SETTING_KEYS, key).toContain(key);
  });
});
