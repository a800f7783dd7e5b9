import { describe, expect, it } from "vitest";
import { escapeHtml, renderInline, renderMarkdown } from "../../src/logic/markdown";

describe("markdown", () => {
  it("escapes HTML everywhere, including inside code", () => {
    const r = renderMarkdown('<img src=x onerror="alert(1)"> and `<b>` \n\n```html\n<script>alert(1)</script>\n```');
    expect(r.html).not.toMatch(/<img|<script|<b>/);
    expect(r.html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(r.html).toContain("<code>&lt;b&gt;</code>");
    expect(r.blocks[0].code).toBe("<script>alert(1)</script>");
    expect(escapeHtml(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
  });

  it("renders fenced code blocks with actions and keeps their code", () => {
    const r = renderMarkdown("Here:\n\n```python src/app.py\ndef f(x):\n    return x * 2\n```\nDone.");
    expect(r.blocks).toEqual([{ index: 0, lang: "python", path: "src/app.py", code: "def f(x):\n    return x * 2", complete: true }]);
    expect(r.html).toContain('<code class="language-python">def f(x):\n    return x * 2</code>');
    for (const a of ["copy", "insert", "apply"]) expect(r.html).toContain(`data-action="${a}" data-index="0"`);
    expect(r.html).toContain("<p>Here:</p>");
    expect(r.html).toContain("<p>Done.</p>");
  });

  it("renders an unterminated fence while streaming", () => {
    const r = renderMarkdown("```ts\nconst a = 1;");
    expect(r.blocks[0]).toMatchObject({ lang: "ts", code: "const a = 1;", complete: false });
    expect(r.html).toContain('class="code-block streaming"');
  });

  it("renders headings, lists, emphasis, and only http(s) links", () => {
    const r = renderMarkdown("## Plan\n- one `x`\n- **two**\n1. first\n\nsee [docs](https://example.com/a?b=1&c=2) or [bad](javascript:alert(1)) *now*");
    expect(r.html).toContain("<h2>Plan</h2>");
    expect(r.html).toContain("<ul><li>one <code>x</code></li><li><strong>two</strong></li></ul>");
    expect(r.html).toContain("<ol><li>first</li></ol>");
    expect(r.html).toContain('<a href="https://example.com/a?b=1&amp;c=2">docs</a>');
    expect(r.html).not.toContain("javascript:");
    expect(r.html).toContain("<em>now</em>");
  });

  it("renders indented code as a code block, but not indented list continuations", () => {
    const r = renderMarkdown("Try:\n\n    def f(x):\n        return x\n\n    f(1)\nafter\n- item\n    more");
    expect(r.blocks).toEqual([{ index: 0, lang: "", code: "def f(x):\n    return x\n\nf(1)", complete: true }]);
    expect(r.html).toContain("<p>after</p>");
    expect(r.html).toContain("<ul><li>item more</li></ul>");
  });

  it("does not format inside inline code", () => {
    expect(renderInline("`**a**` **b**")).toBe("<code>**a**</code> <strong>b</strong>");
  });
});
