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
} from "../../src/logic/settings";

const pkg = JSON.parse(readFileSync(path.join(__dirname, "../../package.json"), "utf8"));
const props: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;

function getPath(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

describe("settings", () => {
  it("package.json declares exactly the keys the server gets, with the same defaults", () => {
    const declared = Object.keys(props).map((k) => k.replace(/^codeflow\./, "")).sort();
    const flat: string[] = [];
    const walk = (o: Record<string, unknown>, pre: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (v !== null && typeof v === "object") walk(v as Record<string, unknown>, `${pre}${k}.`);
        else flat.push(`${pre}${k}`);
      }
    };
    walk(DEFAULT_SETTINGS as unknown as Record<string, unknown>, "");
    expect(declared).toEqual(flat.sort());
    for (const key of declared) expect(getPath(DEFAULT_SETTINGS, key), key).toEqual(props[`codeflow.${key}`].default);
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
    expect(settings.completion).toEqual({ enabled: true, debounceMs: 75, maxTokens: 32 });
    expect(settings.chat).toEqual({ budgetTokens: 4096, maxTokens: 256 });
    expect(settings.tests).toEqual({ command: "", trusted: true, runOnSave: false });
    expect(settings.backend).toBe("remote");
    expect(settings.remote.url).toBe("http://127.0.0.1:8000/v1");
    expect(settings.trace.server).toBe("verbose");
    expect(didChangeConfigurationParams(settings)).toEqual({ settings: { codeflow: settings } });
  });

  it("keeps debounceMs null (adaptive) and reports bad values, using the default", () => {
    const { settings, problems } = readSettings(
      getterFromObject({ "completion.debounceMs": null, "completion.maxTokens": -3, provider: "tpu", serverPath: "  " }),
    );
    expect(settings.completion.debounceMs).toBeNull();
    expect(settings.completion.maxTokens).toBe(64);
    expect(settings.provider).toBe("auto");
    expect(settings.serverPath).toBe("codeflow");
    expect(problems).toHaveLength(2);
    expect(problems).toContain("codeflow.completion.maxTokens: -3 is not valid; using 64");
    expect(problems).toContain('codeflow.provider: "tpu" is not valid; using "auto"');
  });

  it("restarts only for keys that change the process or the model", () => {
    const a = readSettings(getterFromObject({})).settings;
    const b = readSettings(getterFromObject({ "completion.maxTokens": 16 })).settings;
    const c = readSettings(getterFromObject({ modelPath: "/m", "completion.maxTokens": 16 })).settings;
    expect(changedKeys(a, a)).toEqual([]);
    expect(changedKeys(a, b)).toEqual(["completion.maxTokens"]);
    expect(needsRestart(changedKeys(a, b))).toBe(false);
    expect(changedKeys(a, c)).toEqual(["completion.maxTokens", "modelPath"]);
    expect(needsRestart(changedKeys(a, c))).toBe(true);
  });
});
