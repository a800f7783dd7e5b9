/**
 * Which process to start for `codeflow serve`: `codeflow.pythonPath` wins
 * (`<python> -m lsp_server.cli serve`), else `codeflow.serverPath` (a path, or a bare name looked
 * up on PATH and then in the workspace's virtualenvs). No `vscode` import.
 */
import * as path from "node:path";

export interface ResolveEnv {
  /** PATH-like string. */
  pathEnv: string;
  platform: NodeJS.Platform;
  /** Workspace folders (absolute paths), searched for `.venv`/`venv` when the name is bare. */
  workspaceFolders: readonly string[];
  isExecutable: (file: string) => boolean;
}

export type ServerCommand =
  | { ok: true; command: string; args: string[]; source: "pythonPath" | "serverPath" | "path" | "venv" }
  | { ok: false; message: string };

function candidates(name: string, platform: NodeJS.Platform): string[] {
  if (platform !== "win32" || path.extname(name)) return [name];
  return [name, `${name}.exe`, `${name}.cmd`, `${name}.bat`];
}

function isBare(p: string): boolean {
  return !p.includes("/") && !p.includes("\\");
}

export function resolveServerCommand(
  settings: { serverPath: string; pythonPath: string },
  env: ResolveEnv,
): ServerCommand {
  const sep = env.platform === "win32" ? ";" : ":";
  const find = (name: string): { file: string; source: "path" | "venv" } | undefined => {
    for (const dir of env.pathEnv.split(sep).filter(Boolean)) {
      for (const c of candidates(name, env.platform)) {
        const f = path.join(dir, c);
        if (env.isExecutable(f)) return { file: f, source: "path" };
      }
    }
    const bin = env.platform === "win32" ? "Scripts" : "bin";
    for (const ws of env.workspaceFolders) {
      for (const venv of [".venv", "venv"]) {
        for (const c of candidates(name, env.platform)) {
          const f = path.join(ws, venv, bin, c);
          if (env.isExecutable(f)) return { file: f, source: "venv" };
        }
      }
    }
    return undefined;
  };

  const python = settings.pythonPath.trim();
  if (python) {
    const found = isBare(python) ? find(python)?.file : env.isExecutable(python) ? python : undefined;
    if (!found) {
      return {
        ok: false,
        message:
          `codeflow: the Python interpreter "${python}" (setting codeflow.pythonPath) was not found. ` +
          `Point it at a Python that has codeflow installed (pip install -e '.[cpu]' in the codeflow checkout), or clear it to use codeflow.serverPath.`,
      };
    }
    return { ok: true, command: found, args: ["-m", "lsp_server.cli", "serve"], source: "pythonPath" };
  }

  const server = settings.serverPath.trim() || "codeflow";
  if (isBare(server)) {
    const hit = find(server);
    if (hit) return { ok: true, command: hit.file, args: ["serve"], source: hit.source };
    return {
      ok: false,
      message:
        `codeflow: the server executable "${server}" is not on PATH or in the workspace's .venv. ` +
        `Install it (pip install -e '.[cpu]' in the codeflow checkout), or set codeflow.serverPath to its full path, ` +
        `or codeflow.pythonPath to a Python that has it.`,
    };
  }
  if (!env.isExecutable(server)) {
    return {
      ok: false,
      message:
        `codeflow: "${server}" (setting codeflow.serverPath) does not exist or is not executable. ` +
        `Fix the path, or set codeflow.pythonPath to a Python that has codeflow installed.`,
    };
  }
  return { ok: true, command: server, args: ["serve"], source: "serverPath" };
}
