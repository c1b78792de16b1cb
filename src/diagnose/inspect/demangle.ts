/**
 * Rust symbol names in kernel stacks: the v0 mangling (`_RNv…`, RFC 2603) turned back into paths such
 * as `<rust_binder::process::Process>::update_ref`, so that titles and skip lists see the names a
 * person would write. Only what names a function is kept: crate disambiguators, generic arguments and
 * function signatures are left out. A name that does not parse is returned unchanged.
 */

const BASIC_TYPES: Record<string, string> = {
  a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32',
  m: 'u32', n: 'i128', o: 'u128', p: '_', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!',
};

class Parser {
  pos = 0;
  depth = 0;
  constructor(private readonly s: string) {}

  private peek(): string {
    return this.s[this.pos] ?? '';
  }

  private next(): string {
    const c = this.s[this.pos];
    if (c === undefined) throw new Error('end of symbol');
    this.pos++;
    return c;
  }

  private eat(c: string): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  /** `_` is 0; digits, lower and upper case letters then `_` are the value plus one. */
  private base62(): number {
    if (this.eat('_')) return 0;
    let v = 0;
    for (;;) {
      const c = this.next();
      if (c === '_') return v + 1;
      const d = /[0-9]/.test(c) ? c.charCodeAt(0) - 48 : /[a-z]/.test(c) ? c.charCodeAt(0) - 87 : /[A-Z]/.test(c) ? c.charCodeAt(0) - 29 : -1;
      if (d < 0) throw new Error('bad base-62 number');
      v = v * 62 + d;
    }
  }

  private disambiguator(): void {
    if (this.eat('s')) this.base62();
  }

  private ident(): string {
    this.disambiguator();
    const punycode = this.eat('u');
    let len = 0;
    if (!/[0-9]/.test(this.peek())) throw new Error('identifier length');
    while (/[0-9]/.test(this.peek())) len = len * 10 + Number(this.next());
    this.eat('_');
    const id = this.s.slice(this.pos, this.pos + len);
    if (id.length !== len) throw new Error('short identifier');
    this.pos += len;
    return punycode ? `{punycode ${id}}` : id;
  }

  /** Runs `f` at a back-reference's target (offsets count from after `_R`), then comes back. */
  private backref<T>(f: () => T): T {
    const target = this.base62() + 2;
    if (target >= this.pos || ++this.depth > 64) throw new Error('bad back-reference');
    const save = this.pos;
    this.pos = target;
    try {
      return f();
    } finally {
      this.pos = save;
      this.depth--;
    }
  }

  path(): string {
    const c = this.next();
    switch (c) {
      case 'C':
        return this.ident();
      case 'M': {
        this.disambiguator();
        this.path();
        return `<${this.type()}>`;
      }
      case 'X': {
        this.disambiguator();
        this.path();
        const self = this.type();
        return `<${self} as ${this.path()}>`;
      }
      case 'Y': {
        const self = this.type();
        return `<${self} as ${this.path()}>`;
      }
      case 'N': {
        const ns = this.next();
        const parent = this.path();
        const name = this.ident();
        if (ns === 'C') return `${parent}::{closure${name ? `:${name}` : ''}}`;
        if (ns === 'S') return `${parent}::{shim${name ? `:${name}` : ''}}`;
        return name === '' ? parent : `${parent}::${name}`;
      }
      case 'I': {
        const p = this.path();
        while (!this.eat('E')) this.genericArg();
        return p;
      }
      case 'B':
        return this.backref(() => this.path());
      default:
        throw new Error(`unknown path tag ${c}`);
    }
  }

  private genericArg(): void {
    if (this.eat('L')) this.base62();
    else if (this.eat('K')) this.constant();
    else this.type();
  }

  private constant(): void {
    if (this.eat('B')) {
      this.backref(() => this.constant());
      return;
    }
    if (this.eat('p')) return;
    this.type();
    this.eat('n');
    while (/[0-9a-f]/.test(this.peek())) this.pos++;
    if (!this.eat('_')) throw new Error('bad constant');
  }

  type(): string {
    const c = this.peek();
    const basic = BASIC_TYPES[c];
    if (basic !== undefined) {
      this.pos++;
      return basic;
    }
    this.pos++;
    switch (c) {
      case 'R':
      case 'Q': {
        if (this.eat('L')) this.base62();
        return `&${c === 'Q' ? 'mut ' : ''}${this.type()}`;
      }
      case 'P':
        return `*const ${this.type()}`;
      case 'O':
        return `*mut ${this.type()}`;
      case 'A': {
        const t = this.type();
        this.constant();
        return `[${t}; _]`;
      }
      case 'S':
        return `[${this.type()}]`;
      case 'T': {
        const ts: string[] = [];
        while (!this.eat('E')) ts.push(this.type());
        return `(${ts.join(', ')})`;
      }
      case 'B':
        return this.backref(() => this.type());
      default:
        this.pos--;
        return this.path();
    }
  }
}

/** The readable name of a Rust v0 symbol (`_R…`), or the name itself when it is not one. */
export function demangleRust(sym: string): string {
  if (!sym.startsWith('_R')) return sym;
  const p = new Parser(sym);
  p.pos = 2;
  try {
    while (/[0-9]/.test(sym[p.pos] ?? '')) p.pos++; // encoding version
    return p.path();
  } catch {
    return sym;
  }
}
