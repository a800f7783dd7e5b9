/** The status bar item's text and tooltip from `codeflow/status`. No `vscode` import. */

export interface ServerStatus {
  state: "idle" | "indexing" | "generating" | "error";
  model: string;
  device: "cpu" | "cuda";
  message?: string;
  lastLatencyMs?: number;
  indexing?: { done: number; total: number };
}

export type ClientState = "starting" | "running" | "stopped" | "missing";

export interface StatusView {
  text: string;
  tooltip: string;
  /** "error" → errorBackground, "warning" → warningBackground. */
  severity: "normal" | "warning" | "error";
}

export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

function shortModel(model: string): string {
  const base = model.split(/[\\/]/).filter(Boolean).pop() ?? model;
  return base.length > 24 ? `${base.slice(0, 23)}…` : base;
}

export function statusView(
  client: ClientState,
  status: ServerStatus | undefined,
  completionsEnabled: boolean,
): StatusView {
  if (client === "missing")
    return { text: "$(error) codeflow: no server", tooltip: "codeflow server not found — click for options", severity: "error" };
  if (client === "stopped")
    return { text: "$(debug-stop) codeflow: stopped", tooltip: "codeflow server is not running — click for options", severity: "warning" };
  if (client === "starting" || !status)
    return { text: "$(loading~spin) codeflow", tooltip: "codeflow: starting the server…", severity: "normal" };

  const device = status.device === "cuda" ? "GPU" : "CPU";
  const model = shortModel(status.model || "model");
  const lines = [`Model: ${status.model || "?"}`, `Device: ${device}`];
  const parts: string[] = [];
  let icon = completionsEnabled ? "$(sparkle)" : "$(circle-slash)";
  let severity: StatusView["severity"] = "normal";

  if (status.state === "indexing") {
    icon = "$(sync~spin)";
    const ix = status.indexing;
    if (ix && ix.total > 0) {
      const pct = Math.min(100, Math.floor((100 * ix.done) / ix.total));
      parts.push(`indexing ${pct}%`);
      lines.push(`Indexing: ${ix.done}/${ix.total} files`);
    } else {
      parts.push("indexing");
    }
  } else if (status.state === "generating") {
    icon = "$(loading~spin)";
  } else if (status.state === "error") {
    icon = "$(warning)";
    severity = "error";
    lines.push(`Error: ${status.message ?? "unknown"}`);
  }
  parts.unshift(model, device);
  if (status.lastLatencyMs !== undefined && status.state !== "indexing") {
    parts.push(formatLatency(status.lastLatencyMs));
    lines.push(`Last completion: ${formatLatency(status.lastLatencyMs)}`);
  }
  if (status.message && status.state !== "error") lines.push(status.message);
  lines.push(`Inline completions: ${completionsEnabled ? "on" : "off"}`);
  return { text: `${icon} ${parts.filter(Boolean).join(" · ")}`, tooltip: lines.join("\n"), severity };
}
