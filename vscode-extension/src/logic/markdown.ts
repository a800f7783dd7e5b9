/**
 * A small markdown renderer for chat answers. Everything from the model is escaped first; only
 * the tags built here reach the page (no raw HTML, no images, links only for http(s) URLs).
 * Handles what code models write: fenced code blocks (also unterminated ones while streaming),
 * indented code blocks, inline code, headings, bullet/numbered lists, bold/italic, links, paragraphs.
 * No `vscode` import and no DOM: it runs in the webview and in node tests.
 */

export interface CodeBlock {
  index: number;
  lang: string;
  /** A file path given in the fence info (```python src/app.py or ```python:src/app.py). */
  path?: string;
  code: string;
  /** False while the closing fence has not streamed in yet. */
  complete: boolean;
}

export interface Rendered {
  html: string;
  blocks: CodeBlock[];
}

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

function safeHref(url: string): string | undefined {
  return /^https?:\/\/[^\s]+$/i.test(url) ? url : undefined;
}

/** Inline spans of one line of text (already split out of code blocks). */
export function renderInline(text: string): string {
  // Split out code spans first so nothing inside them is formatted.
  const parts = text.split(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/);
  let out = "";
  for (let i = 0; i < parts.length; i += 3) {
    out += formatSpan(parts[i]);
    if (i + 2 < parts.length) out += `<code>${escapeHtml(parts[i + 2])}</code>`;
  }
  return out;
}

function formatSpan(raw: string): string {
  let s = escapeHtml(raw);
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, label: string, url: string) => {
    const href = safeHref(url.replace(/&amp;/g, "&"));
    return href ? `<a href="${escapeHtml(href)}">${label}</a>` : label;
  });
  s = s.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  s = s.replace(/(^|[^\w*])\*([^*\s][^*]*)\*(?!\w)/g, "$1<em>$2</em>");
  s = s.replace(/(^|[^\w_])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>");
  return s;
}

function parseInfo(info: string): { lang: string; path?: string } {
  const t = info.trim();
  if (!t) return { lang: "" };
  const m = /^([\w+#.-]+)(?::(\S+)|\s+(?:title=)?"?([^\s"]+)"?)?/.exec(t);
  if (!m) return { lang: "" };
  const path = m[2] ?? m[3];
  return path ? { lang: m[1], path } : { lang: m[1] };
}

function codeBlockHtml(b: CodeBlock): string {
  const cls = b.lang ? ` class="language-${escapeHtml(b.lang)}"` : "";
  const label = escapeHtml(b.path ?? b.lang);
  const pending = b.complete ? "" : " streaming";
  return (
    `<div class="code-block${pending}" data-index="${b.index}">` +
    `<div class="code-head"><span class="code-lang">${label}</span>` +
    `<span class="code-actions">` +
    `<button type="button" data-action="copy" data-index="${b.index}" title="Copy">Copy</button>` +
    `<button type="button" data-action="insert" data-index="${b.index}" title="Insert at cursor">Insert</button>` +
    `<button type="button" data-action="apply" data-index="${b.index}" title="Apply to file">Apply</button>` +
    `</span></div><pre><code${cls}>${escapeHtml(b.code)}</code></pre></div>`
  );
}

export function renderMarkdown(src: string): Rendered {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  const blocks: CodeBlock[] = [];
  let para: string[] = [];
  let list: { kind: "ul" | "ol"; items: string[] } | undefined;

  const flushPara = () => {
    if (para.length) out.push(`<p>${para.map(renderInline).join("<br>")}</p>`);
    para = [];
  };
  const flushList = () => {
    if (list) out.push(`<${list.kind}>${list.items.map((i) => `<li>${renderInline(i)}</li>`).join("")}</${list.kind}>`);
    list = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s{0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (fence) {
      flushPara();
      flushList();
      const marker = fence[1];
      const { lang, path } = parseInfo(fence[2]);
      const body: string[] = [];
      let complete = false;
      for (i = i + 1; i < lines.length; i++) {
        const close = new RegExp(`^\\s{0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
        if (close.test(lines[i])) {
          complete = true;
          break;
        }
        body.push(lines[i]);
      }
      const b: CodeBlock = { index: blocks.length, lang, code: body.join("\n"), complete };
      if (path) b.path = path;
      blocks.push(b);
      out.push(codeBlockHtml(b));
      continue;
    }
    // Indented code (4 spaces or a tab) that does not continue a paragraph or a list item.
    if (/^( {4}|\t)/.test(line) && line.trim() && !para.length && !list) {
      const body: string[] = [];
      for (; i < lines.length && (/^( {4}|\t)/.test(lines[i]) || !lines[i].trim()); i++) body.push(lines[i]);
      i--;
      while (body.length && !body[body.length - 1].trim()) body.pop();
      const b: CodeBlock = { index: blocks.length, lang: "", code: body.map((l) => l.replace(/^( {4}|\t)/, "")).join("\n"), complete: true };
      blocks.push(b);
      out.push(codeBlockHtml(b));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flushPara();
      flushList();
      const n = heading[1].length;
      out.push(`<h${n}>${renderInline(heading[2])}</h${n}>`);
      continue;
    }
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      flushPara();
      const kind = bullet ? "ul" : "ol";
      if (list && list.kind !== kind) flushList();
      list ??= { kind, items: [] };
      list.items.push((bullet ?? numbered)![1]);
      continue;
    }
    if (!line.trim()) {
      flushPara();
      flushList();
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      list.items[list.items.length - 1] += " " + line.trim();
      continue;
    }
    flushList();
    para.push(line);
  }
  flushPara();
  flushList();
  return { html: out.join("\n"), blocks };
}
