/**
 * Shown/accepted bookkeeping for inline completions. `shown` is called when the server's item
 * goes to the editor; a full accept arrives through the item's command; partial accepts (accept
 * word / line) are seen as document edits that insert a prefix of the suggestion at its position.
 * One `codeflow/didAcceptCompletion` per shown suggestion at most. No `vscode` import.
 */

export interface Pos {
  line: number;
  character: number;
}

export interface AcceptParams {
  uri: string;
  text: string;
  acceptedLength: number;
}

export function advance(p: Pos, text: string): Pos {
  const nl = text.lastIndexOf("\n");
  if (nl < 0) return { line: p.line, character: p.character + text.length };
  return { line: p.line + (text.match(/\n/g)?.length ?? 0), character: text.length - nl - 1 };
}

interface Session {
  uri: string;
  start: Pos;
  text: string;
  accepted: number;
}

export class AcceptanceTracker {
  private s: Session | undefined;

  constructor(private readonly send: (p: AcceptParams) => void) {}

  get current(): Readonly<Session> | undefined {
    return this.s;
  }

  shown(uri: string, start: Pos, text: string): void {
    if (this.s && this.s.uri === uri && this.s.text === text && samePos(this.s.start, start)) return;
    this.flush();
    this.s = { uri, start, text, accepted: 0 };
  }

  /** The item's command ran: VS Code inserted the whole suggestion. */
  acceptedAll(uri: string, text: string): void {
    this.s = undefined;
    this.send({ uri, text, acceptedLength: text.length });
  }

  /** A content change: `rangeLength` chars replaced at `at` by `inserted`. */
  change(uri: string, at: Pos, rangeLength: number, inserted: string): void {
    const s = this.s;
    if (!s || s.uri !== uri) return;
    const expected = advance(s.start, s.text.slice(0, s.accepted));
    const next = s.text.slice(0, s.accepted) + inserted;
    if (rangeLength === 0 && inserted && samePos(at, expected) && s.text.startsWith(next)) {
      s.accepted = next.length;
      return; // a full accept by edit is reported by the command (acceptedAll)
    }
    this.flush();
  }

  /** Ends the session, reporting a partial accept if there was one. */
  flush(): void {
    const s = this.s;
    this.s = undefined;
    if (s && s.accepted > 0 && s.accepted < s.text.length) {
      this.send({ uri: s.uri, text: s.text, acceptedLength: s.accepted });
    }
  }
}

function samePos(a: Pos, b: Pos): boolean {
  return a.line === b.line && a.character === b.character;
}
