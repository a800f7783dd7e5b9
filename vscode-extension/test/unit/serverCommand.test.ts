import { describe, expect, it } from "vitest";
import { resolveServerCommand } from "../../src/logic/serverCommand";

const env = (files: string[], pathEnv = "/usr/bin:/opt/bin", workspaceFolders = ["/ws"]) => ({
  pathEnv,
  platform: "linux" as const,
  workspaceFolders,
  isExecutable: (f: string) => files.includes(f),
});

describe("resolveServerCommand", () => {
  it("finds a bare serverPath on PATH", () => {
    expect(resolveServerCommand({ serverPath: "codeflow", pythonPath: "" }, env(["/opt/bin/codeflow"]))).toEqual({
      ok: true,
      command: "/opt/bin/codeflow",
      args: ["serve"],
      source: "path",
    });
  });

  it("falls back to the workspace .venv", () => {
    const r = resolveServerCommand({ serverPath: "codeflow", pythonPath: "" }, env(["/ws/.venv/bin/codeflow"]));
    expect(r).toMatchObject({ ok: true, command: "/ws/.venv/bin/codeflow", source: "venv" });
  });

  it("pythonPath wins and runs the module", () => {
    const r = resolveServerCommand({ serverPath: "/opt/bin/codeflow", pythonPath: "/py/bin/python3" }, env(["/py/bin/python3", "/opt/bin/codeflow"]));
    expect(r).toEqual({ ok: true, command: "/py/bin/python3", args: ["-m", "lsp_server.cli", "serve"], source: "pythonPath" });
  });

  it("says clearly what is missing and how to fix it", () => {
    const r = resolveServerCommand({ serverPath: "codeflow", pythonPath: "" }, env([]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain('"codeflow" is not on PATH');
      expect(r.message).toContain("pip install -e '.[cpu]' in the codeflow checkout");
      expect(r.message).toContain("codeflow.serverPath");
    }
    const p = resolveServerCommand({ serverPath: "codeflow", pythonPath: "/nope/python" }, env([]));
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.message).toContain("codeflow.pythonPath");
    const s = resolveServerCommand({ serverPath: "/nope/codeflow", pythonPath: "" }, env([]));
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.message).toContain('"/nope/codeflow" (setting codeflow.serverPath) does not exist');
  });

  it("tries .exe on Windows", () => {
    const r = resolveServerCommand(
      { serverPath: "codeflow", pythonPath: "" },
      { pathEnv: "C:\\py\\Scripts", platform: "win32", workspaceFolders: [], isExecutable: (f) => f.endsWith("codeflow.exe") },
    );
    expect(r).toMatchObject({ ok: true, args: ["serve"] });
    if (r.ok) expect(r.command.endsWith("codeflow.exe")).toBe(true);
  });
});
