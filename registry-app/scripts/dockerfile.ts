// A small, dependency-free Dockerfile reader: logical instructions, stages and base images. It lives beside the
// Dockerfile it describes; the image's tests, the Pulumi program (infra/lib/dockerfile.ts) and the policy pack
// all read the Dockerfile through it, so they cannot disagree about what its FROM lines say.

/** One instruction after comments are dropped and continuation lines are joined. */
export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** Everything after the keyword, trimmed, continuation lines joined with a space. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
  /** Bodies of `<<WORD` here-documents that follow the instruction, in order. */
  readonly heredocs: readonly string[];
}

export interface DockerStage {
  /** 0-based position among the FROM instructions. */
  readonly index: number;
  /** The `AS <name>` of the stage (lower-case), if any. */
  readonly name: string | undefined;
  /** The FROM image after build-argument substitution (a previous stage's name, `scratch` or an image). */
  readonly from: string;
  /** The external image this stage starts from; undefined for `scratch` and for an earlier stage. */
  readonly baseImage: string | undefined;
  /** The earlier stage this one continues, if it does. */
  readonly parentStage: string | undefined;
  /** `--platform=` of the FROM line, if given. */
  readonly platform: string | undefined;
  /** The instructions of the stage, FROM excluded. */
  readonly instructions: readonly DockerInstruction[];
}

/** The Dockerfile cannot be read as written; the message names the line. */
export class DockerfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerfileError";
  }
}

const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** Splits a Dockerfile into instructions: comments dropped, continuations joined, here-documents attached. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const escape = escapeDirective(lines);
  const instructions: DockerInstruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] ?? "";
    if (/^\s*(#|$)/.test(first)) {
      i += 1;
      continue;
    }
    const startLine = i + 1;
    let logical = "";
    let current: string | undefined = first;
    for (;;) {
      const trimmed = current.replace(/\s+$/, "");
      if (trimmed.endsWith(escape)) {
        logical += trimmed.slice(0, -1);
        i += 1;
        // Comment lines inside a continuation are removed, as Docker does; blank ones are skipped.
        while (i < lines.length && /^\s*(#|$)/.test(lines[i] ?? "")) i += 1;
        current = lines[i];
        if (current === undefined) break;
        continue;
      }
      logical += trimmed;
      i += 1;
      break;
    }
    const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(logical);
    if (match === null)
      throw new DockerfileError(`line ${startLine}: expected an instruction, got '${logical}'`);
    const keyword = (match[1] ?? "").toUpperCase();
    const args = (match[2] ?? "").trim();
    const heredocs: string[] = [];
    if (keyword === "RUN" || keyword === "COPY" || keyword === "ADD") {
      for (const doc of args.matchAll(HEREDOC)) {
        const stripTabs = doc[1] === "-";
        const word = doc[3] ?? "";
        const body: string[] = [];
        for (;;) {
          const bodyLine = lines[i];
          if (bodyLine === undefined)
            throw new DockerfileError(`line ${startLine}: here-document '${word}' is never closed`);
          i += 1;
          const candidate = stripTabs ? bodyLine.replace(/^\t+/, "") : bodyLine;
          if (candidate === word) break;
          body.push(candidate);
        }
        heredocs.push(body.join("\n"));
      }
    }
    instructions.push({ keyword, args, line: startLine, heredocs });
  }
  return instructions;
}

/** Reads the stages of a Dockerfile; `buildArgs` override the defaults of ARGs declared before the first FROM. */
export function dockerfileStages(
  text: string,
  buildArgs: Readonly<Record<string, string>> = {},
): DockerStage[] {
  const instructions = parseDockerfile(text);
  const globalArgs = new Map<string, string | undefined>();
  const stages: {
    index: number;
    name: string | undefined;
    from: string;
    platform: string | undefined;
    instructions: DockerInstruction[];
  }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const { flags, words } = splitFlags(instruction.args);
      const scope = (name: string) => (name in buildArgs ? buildArgs[name] : globalArgs.get(name));
      const from = substitute(words[0] ?? "", scope, instruction.line);
      if (from === "") throw new DockerfileError(`line ${instruction.line}: FROM needs an image`);
      let name: string | undefined;
      if (words.length === 3 && (words[1] ?? "").toUpperCase() === "AS")
        name = (words[2] ?? "").toLowerCase();
      else if (words.length !== 1)
        throw new DockerfileError(`line ${instruction.line}: expected 'FROM <image> [AS <name>]'`);
      const platform = flags.get("platform");
      stages.push({
        index: stages.length,
        name,
        from,
        platform: platform === undefined ? undefined : substitute(platform, scope, instruction.line),
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG")
        throw new DockerfileError(
          `line ${instruction.line}: only ARG may come before the first FROM, found ${instruction.keyword}`,
        );
      for (const [name, value] of argDeclarations(instruction)) globalArgs.set(name, value);
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new DockerfileError("the Dockerfile has no FROM instruction");

  const seen = new Set<string>();
  return stages.map((stage) => {
    const ref = stage.from.toLowerCase();
    const parentStage = seen.has(ref) ? ref : undefined;
    if (stage.name !== undefined) seen.add(stage.name);
    const baseImage = parentStage !== undefined || ref === "scratch" ? undefined : stage.from;
    return { ...stage, parentStage, baseImage };
  });
}

/** The external images a Dockerfile builds from, in order of first use (stage references and scratch left out). */
export function dockerfileBaseImages(
  text: string,
  buildArgs: Readonly<Record<string, string>> = {},
): string[] {
  const images: string[] = [];
  for (const stage of dockerfileStages(text, buildArgs)) {
    if (stage.baseImage !== undefined && !images.includes(stage.baseImage)) images.push(stage.baseImage);
  }
  return images;
}

/** The JSON ("exec") form of CMD/ENTRYPOINT/RUN arguments, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((item): item is string => typeof item === "string"))
      return parsed;
  } catch {
    // Docker runs a malformed JSON array through the shell, so it is the shell form.
  }
  return undefined;
}

/** Leading `--name=value` flags (COPY --from, FROM --platform, RUN --mount) and the remaining words. */
export function splitFlags(args: string): { flags: Map<string, string>; words: string[] } {
  const words = args.split(/\s+/).filter((word) => word !== "");
  const flags = new Map<string, string>();
  while (words[0]?.startsWith("--")) {
    const flag = (words.shift() ?? "").slice(2);
    const eq = flag.indexOf("=");
    if (eq === -1) flags.set(flag, "true");
    else flags.set(flag.slice(0, eq), flag.slice(eq + 1));
  }
  return { flags, words };
}

/** The pairs of an ENV or LABEL instruction (`k=v k2="v 2"`, or the legacy `ENV k v`), quotes removed. */
export function keyValuePairs(args: string): [string, string][] {
  const words = shellWords(args);
  if (words.length > 0 && !(words[0] ?? "").includes("=")) {
    // Legacy form: the first word is the key, the rest of the line is the value.
    const key = words[0] ?? "";
    return [
      [
        key,
        args
          .trim()
          .slice(args.trim().indexOf(key) + key.length)
          .trim(),
      ],
    ];
  }
  return words.map((word) => {
    const eq = word.indexOf("=");
    if (eq <= 0) throw new DockerfileError(`expected key=value, got '${word}'`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

function shellWords(text: string): string[] {
  // Words split on unquoted whitespace; quotes removed, backslash escapes resolved (outside single quotes).
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] ?? "";
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < text.length) word += text[++i] ?? "";
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      word += text[++i] ?? "";
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new DockerfileError(`unterminated ${quote} quote in '${text}'`);
  if (inWord) words.push(word);
  return words;
}

/** `ARG a=1 b` declarations: names with their defaults (undefined when none). */
export function argDeclarations(instruction: DockerInstruction): [string, string | undefined][] {
  return instruction.args
    .split(/\s+/)
    .filter((word) => word !== "")
    .map((word) => {
      const eq = word.indexOf("=");
      if (eq === -1) return [word, undefined];
      return [word.slice(0, eq), unquote(word.slice(eq + 1))];
    });
}

function unquote(value: string): string {
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return quoted?.[1] ?? value;
}

function escapeDirective(lines: readonly string[]): string {
  // Parser directives are only recognised in the leading block of `# key=value` lines.
  for (const line of lines) {
    const directive = /^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(line);
    if (directive === null) break;
    if ((directive[1] ?? "").toLowerCase() === "escape") {
      const value = directive[2] ?? "";
      if (value !== "\\" && value !== "`") throw new DockerfileError(`invalid escape directive '${value}'`);
      return value;
    }
  }
  return "\\";
}

function substitute(value: string, scope: (name: string) => string | undefined, line: number): string {
  return value.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (
      _match,
      braced: string | undefined,
      op: string | undefined,
      word: string | undefined,
      bare: string | undefined,
    ) => {
      const name = braced ?? bare ?? "";
      const current = scope(name);
      if (op === "-") return current === undefined || current === "" ? (word ?? "") : current;
      if (op === "+") return current === undefined || current === "" ? "" : (word ?? "");
      if (current === undefined)
        throw new DockerfileError(
          `line ${line}: build argument ${name} has no value (declare 'ARG ${name}=<default>')`,
        );
      return current;
    },
  );
}
