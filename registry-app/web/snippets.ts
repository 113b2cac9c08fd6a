// Copy-ready install snippets from a server.json: a shell command per package (npx, uvx, docker run, dnx,
// or a verified download for MCPB) and the MCP client configuration that starts it. Pure functions, no DOM,
// so the service's tests can check them directly.
import type { RemoteTransport, ServerPackage } from "./types";

type Argument = NonNullable<ServerPackage["packageArguments"]>[number];
type KeyValue = NonNullable<ServerPackage["environmentVariables"]>[number];

/** One input the user has to look at: an environment variable, argument or header. */
export interface InputNote {
  kind: "environment variable" | "argument" | "header";
  name: string;
  description: string;
  required: boolean;
  secret: boolean;
}

export interface Snippet {
  /** Heading of the snippet: "npx", "docker run", "MCP client configuration", ... */
  label: string;
  language: "shell" | "json";
  code: string;
}

export interface InstallGuide {
  title: string;
  snippets: Snippet[];
  inputs: InputNote[];
}

/** Quotes a word for POSIX shells when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** The placeholder a user replaces: `<description>` or `<name>`. */
function placeholder(
  input: { description?: string; placeholder?: string; valueHint?: string },
  name: string,
): string {
  const hint = input.placeholder ?? input.valueHint ?? name;
  return `<${hint}>`;
}

function argumentWords(argument: Argument): string[] {
  if (argument.type === "positional") {
    return [argument.value ?? argument.default ?? placeholder(argument, argument.valueHint ?? "value")];
  }
  const value = argument.value ?? argument.default;
  if (value === undefined)
    return argument.isRequired || argument.format !== "boolean"
      ? [argument.name, placeholder(argument, argument.name.replace(/^-+/, ""))]
      : [argument.name];
  return [`${argument.name}=${value}`];
}

function argumentNote(argument: Argument): InputNote {
  const name =
    argument.type === "positional" ? (argument.valueHint ?? argument.value ?? "value") : argument.name;
  return {
    kind: "argument",
    name,
    description: argument.description ?? "",
    required:
      argument.isRequired === true || (argument.type === "positional" && argument.value === undefined),
    secret: argument.isSecret === true,
  };
}

function keyValueNote(kind: "environment variable" | "header", input: KeyValue): InputNote {
  return {
    kind,
    name: input.name,
    description: input.description ?? "",
    required: input.isRequired === true,
    secret: input.isSecret === true,
  };
}

/** The value a snippet writes for an environment variable or header. */
function keyValueValue(input: KeyValue): string {
  return input.value ?? input.default ?? placeholder(input, input.name);
}

/** Short name for a client configuration key: the part of the server name after the slash. */
export function configKey(serverName: string): string {
  return serverName.slice(serverName.lastIndexOf("/") + 1) || serverName;
}

function ociImage(pkg: ServerPackage): string {
  const { identifier, version } = pkg;
  const lastSegment = identifier.slice(identifier.lastIndexOf("/") + 1);
  if (identifier.includes("@sha256:") || lastSegment.includes(":") || version === undefined)
    return identifier;
  return `${identifier}:${version}`;
}

function localPort(pkg: ServerPackage): string | undefined {
  if (pkg.transport.type === "stdio") return undefined;
  try {
    const url = new URL(pkg.transport.url.replace(/\{[^}]*\}/g, "0"));
    return url.port || undefined;
  } catch {
    return undefined;
  }
}

/** The runner, its arguments before the package, and the package reference of each registry type. */
function launcher(
  pkg: ServerPackage,
): { command: string; before: string[]; reference: string[] } | undefined {
  const version = pkg.version;
  switch (pkg.registryType) {
    case "npm":
      return {
        command: "npx",
        before: ["-y"],
        reference: [version ? `${pkg.identifier}@${version}` : pkg.identifier],
      };
    case "pypi":
      return {
        command: "uvx",
        before: [],
        reference: [version ? `${pkg.identifier}==${version}` : pkg.identifier],
      };
    case "nuget":
      return {
        command: "dnx",
        before: [],
        reference: [version ? `${pkg.identifier}@${version}` : pkg.identifier, "--yes"],
      };
    case "oci": {
      const env = (pkg.environmentVariables ?? []).flatMap((variable) => ["-e", variable.name]);
      const port = localPort(pkg);
      return {
        command: "docker",
        before: ["run", "-i", "--rm", ...(port ? ["-p", `${port}:${port}`] : []), ...env],
        reference: [ociImage(pkg)],
      };
    }
    default:
      return undefined;
  }
}

function environmentLines(pkg: ServerPackage): string[] {
  return (pkg.environmentVariables ?? []).map((variable) => {
    const marks = [variable.isRequired ? "required" : "optional", variable.isSecret ? "secret" : ""].filter(
      Boolean,
    );
    return `export ${variable.name}=${shellQuote(keyValueValue(variable))}  # ${marks.join(", ")}`;
  });
}

/** Install snippets of one package of a server. */
export function packageGuide(serverName: string, pkg: ServerPackage): InstallGuide {
  const inputs = [
    ...(pkg.environmentVariables ?? []).map((variable) => keyValueNote("environment variable", variable)),
    ...(pkg.runtimeArguments ?? []).map(argumentNote),
    ...(pkg.packageArguments ?? []).map(argumentNote),
  ];
  const title = `${pkg.registryType} · ${pkg.identifier}${pkg.version ? ` ${pkg.version}` : ""}`;
  const run = launcher(pkg);
  if (run === undefined) {
    // MCPB and other direct downloads: fetch the file and check its published digest.
    const file = pkg.identifier.slice(pkg.identifier.lastIndexOf("/") + 1) || "server.mcpb";
    const lines = [`curl -fLo ${shellQuote(file)} ${shellQuote(pkg.identifier)}`];
    if (pkg.fileSha256) lines.push(`echo ${shellQuote(`${pkg.fileSha256}  ${file}`)} | sha256sum -c -`);
    return { title, inputs, snippets: [{ label: "download", language: "shell", code: lines.join("\n") }] };
  }
  const runtimeArgs = (pkg.runtimeArguments ?? []).flatMap(argumentWords);
  const packageArgs = (pkg.packageArguments ?? []).flatMap(argumentWords);
  const runtime = pkg.runtimeHint && pkg.runtimeHint !== run.command ? pkg.runtimeHint : run.command;
  const words = [...run.before, ...runtimeArgs, ...run.reference, ...packageArgs];
  const command = [...environmentLines(pkg), [runtime, ...words].map(shellQuote).join(" ")].join("\n");
  const env = Object.fromEntries((pkg.environmentVariables ?? []).map((v) => [v.name, keyValueValue(v)]));
  const entry: Record<string, unknown> =
    pkg.transport.type === "stdio"
      ? { command: runtime, args: words, ...(Object.keys(env).length > 0 && { env }) }
      : { type: pkg.transport.type, url: pkg.transport.url };
  const snippets: Snippet[] = [
    { label: runtime === "docker" ? "docker run" : runtime, language: "shell", code: command },
    {
      label:
        pkg.transport.type === "stdio"
          ? "MCP client configuration"
          : `MCP client configuration (${pkg.transport.type}, once it runs)`,
      language: "json",
      code: JSON.stringify({ mcpServers: { [configKey(serverName)]: entry } }, null, 2),
    },
  ];
  return { title, inputs, snippets };
}

/** The client configuration of a remote endpoint, with its headers. */
export function remoteGuide(serverName: string, remote: RemoteTransport): InstallGuide {
  const headers = remote.headers ?? [];
  const entry = {
    type: remote.type,
    url: remote.url,
    ...(headers.length > 0 && {
      headers: Object.fromEntries(headers.map((header) => [header.name, keyValueValue(header)])),
    }),
  };
  return {
    title: `${remote.type} · ${remote.url}`,
    inputs: headers.map((header) => keyValueNote("header", header)),
    snippets: [
      {
        label: "MCP client configuration",
        language: "json",
        code: JSON.stringify({ mcpServers: { [configKey(serverName)]: entry } }, null, 2),
      },
    ],
  };
}
