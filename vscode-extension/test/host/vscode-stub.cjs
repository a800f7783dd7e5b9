/*
 * A small in-process stand-in for the `vscode` module, enough to run the bundled extension
 * (and vscode-languageclient inside it) in node against a real server. Not VS Code: there is no
 * editor UI; the test drives documents, providers, commands and settings through `__test`.
 * Names it does not implement resolve to inert stubs (functions returning disposables).
 */
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const { pathToFileURL, fileURLToPath } = require("node:url");
const { CancellationTokenSource } = require("vscode-jsonrpc");

class Disposable {
  constructor(fn) { this._fn = fn; }
  dispose() { if (this._fn) { const f = this._fn; this._fn = undefined; f(); } }
  static from(...ds) { return new Disposable(() => ds.forEach((d) => d && d.dispose && d.dispose())); }
}
class EventEmitter {
  constructor() {
    this._ls = new Set();
    this.event = (fn, thisArg, disposables) => {
      const l = thisArg ? fn.bind(thisArg) : fn;
      this._ls.add(l);
      const d = new Disposable(() => this._ls.delete(l));
      if (Array.isArray(disposables)) disposables.push(d);
      return d;
    };
  }
  fire(e) { for (const l of [...this._ls]) { try { l(e); } catch (err) { console.error("[stub] listener failed", err); } } }
  dispose() { this._ls.clear(); }
}
class Uri {
  constructor(scheme, authority, p, query, fragment) { Object.assign(this, { scheme, authority: authority || "", path: p || "", query: query || "", fragment: fragment || "" }); }
  get fsPath() { return this.path; }
  toString() { return this.scheme === "file" ? pathToFileURL(this.path).toString() : `${this.scheme}://${this.authority}${this.path}`; }
  toJSON() { return { scheme: this.scheme, path: this.path, external: this.toString() }; }
  with(c) { return new Uri(c.scheme ?? this.scheme, c.authority ?? this.authority, c.path ?? this.path, c.query ?? this.query, c.fragment ?? this.fragment); }
  static file(p) { return new Uri("file", "", path.resolve(p)); }
  static parse(s) {
    if (s.startsWith("file:")) return Uri.file(fileURLToPath(s));
    const m = /^([\w+.-]+):\/\/([^/]*)(.*)$/.exec(s);
    return m ? new Uri(m[1], m[2], m[3]) : new Uri("untitled", "", s);
  }
  static joinPath(u, ...ps) { return u.with({ path: path.posix.join(u.path, ...ps) }); }
  static isUri(x) { return x instanceof Uri; }
}
class Position {
  constructor(line, character) { this.line = line; this.character = character; }
  isEqual(o) { return this.line === o.line && this.character === o.character; }
  isBefore(o) { return this.line < o.line || (this.line === o.line && this.character < o.character); }
  isAfter(o) { return !this.isEqual(o) && !this.isBefore(o); }
  isBeforeOrEqual(o) { return this.isBefore(o) || this.isEqual(o); }
  isAfterOrEqual(o) { return !this.isBefore(o); }
  translate(dl = 0, dc = 0) { if (typeof dl === "object") ({ lineDelta: dl = 0, characterDelta: dc = 0 } = dl); return new Position(this.line + dl, this.character + dc); }
  with(l, c) { return new Position(l ?? this.line, c ?? this.character); }
  compareTo(o) { return this.isBefore(o) ? -1 : this.isEqual(o) ? 0 : 1; }
}
class Range {
  constructor(a, b, c, d) {
    if (typeof a === "number") { this.start = new Position(a, b); this.end = new Position(c, d); }
    else { this.start = a; this.end = b; }
  }
  get isEmpty() { return this.start.isEqual(this.end); }
  get isSingleLine() { return this.start.line === this.end.line; }
  contains(p) { const r = p instanceof Range ? p : new Range(p, p); return this.start.isBeforeOrEqual(r.start) && r.end.isBeforeOrEqual(this.end); }
  isEqual(o) { return this.start.isEqual(o.start) && this.end.isEqual(o.end); }
  with(s, e) { return new Range(s ?? this.start, e ?? this.end); }
}
class Selection extends Range {
  constructor(anchor, active) { super(anchor, active); this.anchor = anchor; this.active = active; }
}
class Location { constructor(uri, range) { this.uri = uri; this.range = range; } }
class CodeActionKind {
  constructor(value) { this.value = value; }
  append(p) { return new CodeActionKind(this.value ? `${this.value}.${p}` : p); }
  contains(o) { return this.value === o.value || o.value.startsWith(this.value + "."); }
  intersects(o) { return this.contains(o) || o.contains(this); }
}
for (const [k, v] of Object.entries({ Empty: "", QuickFix: "quickfix", Refactor: "refactor", RefactorExtract: "refactor.extract", RefactorInline: "refactor.inline", RefactorRewrite: "refactor.rewrite", Source: "source", SourceOrganizeImports: "source.organizeImports", SourceFixAll: "source.fixAll", Notebook: "notebook" })) CodeActionKind[k] = new CodeActionKind(v);
const plain = (name) => class { constructor(...a) { this.__args = a; } static get name() { return name; } };
const simple = {
  InlineCompletionItem: class { constructor(insertText, range, command) { this.insertText = insertText; this.range = range; this.command = command; } },
  InlineCompletionList: class { constructor(items) { this.items = items; } },
  CompletionItem: class { constructor(label, kind) { this.label = label; this.kind = kind; } },
  CompletionList: class { constructor(items = [], isIncomplete = false) { this.items = items; this.isIncomplete = isIncomplete; } },
  MarkdownString: class { constructor(value = "", supportThemeIcons) { this.value = value; this.supportThemeIcons = supportThemeIcons; } appendText(t) { this.value += t; return this; } appendMarkdown(t) { this.value += t; return this; } appendCodeblock(c, l = "") { this.value += "\n```" + l + "\n" + c + "\n```\n"; return this; } },
  SnippetString: class { constructor(value = "") { this.value = value; } },
  TextEdit: class { constructor(range, newText) { this.range = range; this.newText = newText; } static replace(r, t) { return new simple.TextEdit(r, t); } static insert(p, t) { return new simple.TextEdit(new Range(p, p), t); } },
  WorkspaceEdit: class { constructor() { this._e = []; } replace(uri, range, newText) { this._e.push({ uri, range, newText }); } insert(uri, p, t) { this.replace(uri, new Range(p, p), t); } set(uri, edits) { for (const e of edits) this._e.push({ uri, ...e }); } entries() { return this._e.map((e) => [e.uri, [e]]); } get size() { return this._e.length; } },
  Diagnostic: class { constructor(range, message, severity) { Object.assign(this, { range, message, severity }); } },
  CodeAction: class { constructor(title, kind) { this.title = title; this.kind = kind; } },
  ThemeColor: class { constructor(id) { this.id = id; } },
  ThemeIcon: class { constructor(id) { this.id = id; } },
  CancellationError: class extends Error { constructor() { super("Canceled"); this.name = "Canceled"; } },
  RelativePattern: class { constructor(base, pattern) { this.base = base; this.pattern = pattern; } },
  TabInputText: plain("TabInputText"), TabInputTextDiff: plain("TabInputTextDiff"), TabInputNotebook: plain("TabInputNotebook"), TabInputCustom: plain("TabInputCustom"),
};
const enums = {
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
  FileType: { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 },
  DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
  DiagnosticTag: { Unnecessary: 1, Deprecated: 2 },
  CompletionItemKind: new Proxy({}, { get: (_t, p) => (p === "Text" ? 0 : 1) }),
  CompletionItemTag: { Deprecated: 1 },
  SymbolKind: new Proxy({}, { get: () => 0 }), SymbolTag: { Deprecated: 1 },
  InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
  EndOfLine: { LF: 1, CRLF: 2 }, TextDocumentSaveReason: { Manual: 1, AfterDelay: 2, FocusOut: 3 },
  ViewColumn: { Active: -1, Beside: -2, One: 1 }, UIKind: { Desktop: 1, Web: 2 }, ExtensionMode: { Production: 1, Development: 2, Test: 3 },
  FoldingRangeKind: { Comment: 1, Imports: 2, Region: 3 }, DocumentHighlightKind: { Text: 0, Read: 1, Write: 2 },
};

// ---- documents -------------------------------------------------------------------------------
class TextDocument {
  constructor(uri, languageId, text) { this.uri = uri; this.languageId = languageId; this._text = text; this.version = 1; this.isClosed = false; this.isDirty = false; this.isUntitled = false; this.eol = 1; }
  get fileName() { return this.uri.fsPath; }
  get lineCount() { return this._lines().length; }
  _lines() { return this._text.split("\n"); }
  getText(range) { if (!range) return this._text; const a = this.offsetAt(range.start), b = this.offsetAt(range.end); return this._text.slice(a, b); }
  offsetAt(p) { const ls = this._lines(); let o = 0; for (let i = 0; i < Math.min(p.line, ls.length); i++) o += ls[i].length + 1; return Math.min(o + p.character, this._text.length); }
  positionAt(off) { const before = this._text.slice(0, off).split("\n"); return new Position(before.length - 1, before[before.length - 1].length); }
  lineAt(l) { const line = typeof l === "number" ? l : l.line; const text = this._lines()[line] ?? ""; return { lineNumber: line, text, range: new Range(line, 0, line, text.length), isEmptyOrWhitespace: !text.trim() }; }
  validateRange(r) { return r; } validatePosition(p) { return p; }
  getWordRangeAtPosition() { return undefined; }
  save() { return Promise.resolve(true); }
}

// ---- configuration -----------------------------------------------------------------------------
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
const defaults = {};
for (const [k, v] of Object.entries(pkg.contributes.configuration.properties)) defaults[k] = v.default;
const userValues = {};
const onDidChangeConfiguration = new EventEmitter();
function getConfiguration(section) {
  const full = (k) => (section ? `${section}.${k}` : k);
  const get = (k, d) => { const f = full(k); if (f in userValues) return userValues[f]; if (f in defaults) return defaults[f]; if (section === "codeflow" && k === undefined) return undefined; return d; };
  const obj = {
    get,
    has: (k) => full(k) in defaults || full(k) in userValues,
    inspect: (k) => ({ key: full(k), defaultValue: defaults[full(k)], globalValue: userValues[full(k)] }),
    update: async (k, v) => setConfig({ [full(k)]: v }),
  };
  // The language client reads whole sections for workspace/configuration.
  for (const k of Object.keys(defaults)) if (section && k.startsWith(section + ".")) {
    const parts = k.slice(section.length + 1).split(".");
    let o = obj; for (let i = 0; i < parts.length - 1; i++) o = o[parts[i]] ??= {}; o[parts[parts.length - 1]] = get(k.slice(section.length + 1));
  }
  return obj;
}
function setConfig(values) {
  Object.assign(userValues, values);
  const keys = Object.keys(values);
  onDidChangeConfiguration.fire({ affectsConfiguration: (s) => keys.some((k) => k === s || k.startsWith(s + ".")) });
}

// ---- registries ----------------------------------------------------------------------------------
const commands = new Map();
const providers = {};
const messages = [];
const statusItems = [];
const webviewProviders = new Map();
const outputLines = [];
const docs = [];
const ev = {
  open: new EventEmitter(), close: new EventEmitter(), change: new EventEmitter(), save: new EventEmitter(), willSave: new EventEmitter(),
  folders: new EventEmitter(), activeEditor: new EventEmitter(), visibleEditors: new EventEmitter(), selection: new EventEmitter(), tabs: new EventEmitter(),
};
const workspaceFolders = [];

function autoStub(name) {
  const f = function () { return new Disposable(() => undefined); };
  return new Proxy(f, { get: (_t, p) => (p === "then" ? undefined : p === "name" ? name : autoStub(`${name}.${String(p)}`)) });
}
function withFallback(obj, name) {
  return new Proxy(obj, { get: (t, p) => (p in t ? t[p] : typeof p === "symbol" ? undefined : autoStub(`${name}.${p}`)) });
}

const languages = withFallback({
  match: (selector, doc) => {
    const sels = Array.isArray(selector) ? selector : [selector];
    return sels.some((s) => typeof s === "string" ? s === doc.languageId || s === "*" : (!s.scheme || s.scheme === doc.uri.scheme) && (!s.language || s.language === doc.languageId)) ? 10 : 0;
  },
  createDiagnosticCollection: (name) => { const m = new Map(); return { name, set: (u, d) => (u instanceof Uri ? m.set(u.toString(), d) : Array.isArray(u) && u.forEach(([x, y]) => m.set(x.toString(), y))), delete: (u) => m.delete(u.toString()), clear: () => m.clear(), get: (u) => m.get(u.toString()), forEach: (fn) => m.forEach(fn), dispose: () => m.clear(), has: (u) => m.has(u.toString()) }; },
  getDiagnostics: () => [],
}, "languages");
for (const kind of ["InlineCompletionItem", "CompletionItem", "CodeActions", "Hover", "Definition", "SignatureHelp", "DocumentSymbol", "WorkspaceSymbol", "CodeLens", "Rename", "DocumentFormattingEdit", "DocumentRangeFormattingEdit", "OnTypeFormattingEdit", "DocumentLink", "Color", "FoldingRange", "Declaration", "SelectionRange", "CallHierarchy", "TypeHierarchy", "InlayHints", "InlineValues", "Reference", "Implementation", "TypeDefinition", "DocumentHighlight", "DocumentSemanticTokens", "DocumentRangeSemanticTokens", "LinkedEditingRange"]) {
  languages[`register${kind}Provider`] = (selector, provider) => { (providers[kind] ??= []).push({ selector, provider }); return new Disposable(() => { providers[kind] = providers[kind].filter((p) => p.provider !== provider); }); };
}

function logChannel(name) {
  const log = (lvl) => (msg, ...a) => outputLines.push(`[${lvl}] ${msg}${a.length ? " " + a.map(String).join(" ") : ""}`);
  return withFallback({ name, logLevel: 1 /* Trace: the client then traces per codeflow.trace.server */, onDidChangeLogLevel: new EventEmitter().event, append: (s) => outputLines.push(s), appendLine: (s) => outputLines.push(s), replace: () => undefined, clear: () => undefined, show: () => undefined, hide: () => undefined, dispose: () => undefined, trace: log("trace"), debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") }, "outputChannel");
}

const window = withFallback({
  activeTextEditor: undefined,
  visibleTextEditors: [],
  tabGroups: { all: [], activeTabGroup: { tabs: [] }, onDidChangeTabs: ev.tabs.event, onDidChangeTabGroups: new EventEmitter().event },
  onDidChangeActiveTextEditor: ev.activeEditor.event,
  onDidChangeVisibleTextEditors: ev.visibleEditors.event,
  onDidChangeTextEditorSelection: ev.selection.event,
  createOutputChannel: (name) => logChannel(name),
  createStatusBarItem: (id) => { const it = { id, text: "", tooltip: "", show() { this.visible = true; }, hide() { this.visible = false; }, dispose() {} }; statusItems.push(it); return it; },
  showErrorMessage: (m) => { messages.push({ level: "error", message: m }); return Promise.resolve(undefined); },
  showWarningMessage: (m) => { messages.push({ level: "warning", message: m }); return Promise.resolve(undefined); },
  showInformationMessage: (m) => { messages.push({ level: "info", message: m }); return Promise.resolve(undefined); },
  showQuickPick: async () => undefined,
  setStatusBarMessage: () => new Disposable(() => undefined),
  withProgress: (_o, task) => task({ report() {} }, new CancellationTokenSource().token),
  registerWebviewViewProvider: (id, provider) => { webviewProviders.set(id, provider); return new Disposable(() => webviewProviders.delete(id)); },
  showTextDocument: async (d) => ({ document: d }),
}, "window");

const workspace = withFallback({
  get workspaceFolders() { return workspaceFolders.length ? workspaceFolders : undefined; },
  get textDocuments() { return docs.filter((d) => !d.isClosed); },
  notebookDocuments: [],
  getConfiguration,
  onDidChangeConfiguration: onDidChangeConfiguration.event,
  onDidOpenTextDocument: ev.open.event, onDidCloseTextDocument: ev.close.event, onDidChangeTextDocument: ev.change.event,
  onDidSaveTextDocument: ev.save.event, onWillSaveTextDocument: ev.willSave.event, onDidChangeWorkspaceFolders: ev.folders.event,
  createFileSystemWatcher: () => ({ onDidCreate: new EventEmitter().event, onDidChange: new EventEmitter().event, onDidDelete: new EventEmitter().event, dispose() {} }),
  getWorkspaceFolder: (u) => workspaceFolders.find((f) => u.fsPath.startsWith(f.uri.fsPath)),
  applyEdit: async () => true,
  findFiles: async () => [],
  fs: { stat: async (u) => { const s = fs.statSync(u.fsPath); return { type: s.isFile() ? 1 : 2, size: s.size }; } },
  isTrusted: true,
}, "workspace");

const api = {
  version: "1.91.0",
  Disposable, EventEmitter, Uri, Position, Range, Selection, Location, CodeActionKind, CancellationTokenSource, ...simple, ...enums,
  languages, window, workspace,
  commands: withFallback({
    registerCommand: (id, fn) => { if (commands.has(id)) throw new Error(`command '${id}' already exists`); commands.set(id, fn); return new Disposable(() => commands.delete(id)); },
    executeCommand: async (id, ...args) => { const f = commands.get(id); return f ? f(...args) : undefined; },
    getCommands: async () => [...commands.keys()],
  }, "commands"),
  env: withFallback({ language: "en", appName: "vscode-stub", machineId: "stub", sessionId: "stub", uriScheme: "vscode", clipboard: { text: "", writeText: async function (t) { this.text = t; }, readText: async function () { return this.text; } }, openExternal: async () => true }, "env"),
  l10n: { t: (m, ...a) => (typeof m === "string" ? m.replace(/\{(\d+)\}/g, (_x, i) => String(a[i])) : m.message) },
  __test: {
    commands, providers, messages, statusItems, webviewProviders, outputLines, userValues, setConfig,
    addWorkspaceFolder(dir) { workspaceFolders.push({ uri: Uri.file(dir), name: path.basename(dir), index: workspaceFolders.length }); },
    openDocument(file, languageId, text) { const d = new TextDocument(Uri.file(file), languageId, text); docs.push(d); ev.open.fire(d); return d; },
    editDocument(d, range, newText) {
      const a = d.offsetAt(range.start), b = d.offsetAt(range.end);
      d._text = d._text.slice(0, a) + newText + d._text.slice(b); d.version++;
      ev.change.fire({ document: d, contentChanges: [{ range, rangeOffset: a, rangeLength: b - a, text: newText }], reason: undefined });
    },
    setActiveEditor(d, selection) { const e = { document: d, selection, selections: [selection], edit: async (cb) => { cb({ replace: (r, t) => api.__test.editDocument(d, r, t), insert: (p, t) => api.__test.editDocument(d, new Range(p, p), t) }); return true; } }; window.activeTextEditor = e; window.visibleTextEditors = [e]; ev.activeEditor.fire(e); ev.selection.fire({ textEditor: e, selections: [selection] }); return e; },
  },
};
module.exports = withFallback(api, "vscode");
