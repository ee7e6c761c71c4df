/**
 * selenectl break-glass open|close|status: the operator's side of the break-glass procedure
 * (deploy/runbooks/break-glass.md). Each calls one SECURITY DEFINER function of the break_glass
 * schema over the operator's own database login, so the session belongs to that login: opening
 * lends it selene_break_glass until the TTL, and the database audits the opening, every row
 * changed and the closing.
 */
import pg from "pg";
import { type ParsedArgs, parseArgs } from "./cli-connection.js";
import { type CliOutput, type Command, EXIT, UsageError } from "./command.js";

const DATABASE_FLAG = "database-url";
const TTL = /^(\d+)(s|m|h)$/;
const TTL_UNITS: Readonly<Record<string, string>> = { s: "seconds", m: "minutes", h: "hours" };

/** The operator's own login: --database-url, else SELENE_OPERATOR_DATABASE_URL, else DATABASE_URL. */
function databaseUrl(args: ParsedArgs, env: NodeJS.ProcessEnv): string {
  const url =
    (args.flags.get(DATABASE_FLAG) as string | undefined) ?? env.SELENE_OPERATOR_DATABASE_URL ?? env.DATABASE_URL;
  if (!url)
    throw new UsageError(`--${DATABASE_FLAG} (or SELENE_OPERATOR_DATABASE_URL) must name your own database login`);
  return url;
}

function required(args: ParsedArgs, flag: string): string {
  const value = args.flags.get(flag);
  if (typeof value !== "string") throw new UsageError(`--${flag} is required`);
  return value;
}

/** "90s", "30m", "2h" -> a Postgres interval. */
function ttlInterval(text: string): string {
  const match = TTL.exec(text);
  if (match === null) throw new UsageError(`--ttl must be a number followed by s, m or h (such as 30m), got "${text}"`);
  return `${match[1]} ${TTL_UNITS[match[2]!]}`;
}

/** Runs `work` over one connection; a database refusal is printed and ends with EXIT.finding. */
async function withDatabase(url: string, io: CliOutput, work: (client: pg.Client) => Promise<number>): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    io.err(`cannot connect to the database: ${(err as Error).message}`);
    return EXIT.usage;
  }
  try {
    return await work(client);
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    if (code === undefined) throw err;
    io.err(`refused by the database (${code}): ${message}`);
    return EXIT.finding;
  } finally {
    await client.end();
  }
}

function iso(at: Date | null): string {
  return at === null ? "-" : at.toISOString();
}

/** `selenectl break-glass open --reason <text> --ticket <id> --ttl <30m>`. */
export function breakGlassOpenCommand(env: NodeJS.ProcessEnv = process.env): Command {
  return {
    summary: "open a time-boxed, audited break-glass session for your login",
    async run(argv, io) {
      const args = parseArgs(argv, ["reason", "ticket", "ttl", DATABASE_FLAG], []);
      const reason = required(args, "reason");
      const ticket = required(args, "ticket");
      const ttl = ttlInterval(required(args, "ttl"));
      return withDatabase(databaseUrl(args, env), io, async (client) => {
        const opened = await client.query<{ session_id: string }>(
          "select break_glass.open($1, $2, $3::interval) as session_id",
          [reason, ticket, ttl],
        );
        const id = opened.rows[0]!.session_id;
        const described = await client.query<{ session_id: string; expires_at: Date; login: string }>(
          "select s.session_id, s.expires_at, session_user as login from break_glass.status() s where s.session_id = $1",
          [id],
        );
        const row = described.rows[0]!;
        io.out(`session ${row.session_id} open until ${iso(row.expires_at)}`);
        io.err(
          `login ${row.login} may now SET ROLE selene_break_glass; every row it changes in a protected ledger is ` +
            "journaled and audited. Close with: selenectl break-glass close",
        );
        return EXIT.ok;
      });
    },
  };
}

/** `selenectl break-glass close`: ends your login's open session. */
export function breakGlassCloseCommand(env: NodeJS.ProcessEnv = process.env): Command {
  return {
    summary: "close your login's break-glass session now",
    async run(argv, io) {
      const args = parseArgs(argv, [DATABASE_FLAG], []);
      return withDatabase(databaseUrl(args, env), io, async (client) => {
        const closed = await client.query<{ session_id: string | null }>("select break_glass.close() as session_id");
        const id = closed.rows[0]?.session_id ?? null;
        if (id === null) {
          io.err("no open break-glass session for this login");
          return EXIT.finding;
        }
        io.out(`session ${id} closed`);
        return EXIT.ok;
      });
    },
  };
}

/** `selenectl break-glass status`: open and recent sessions. */
export function breakGlassStatusCommand(env: NodeJS.ProcessEnv = process.env): Command {
  return {
    summary: "list open and recent break-glass sessions",
    async run(argv, io) {
      const args = parseArgs(argv, [DATABASE_FLAG], []);
      return withDatabase(databaseUrl(args, env), io, async (client) => {
        const rows = await client.query<{
          session_id: string;
          operator: string;
          ticket: string;
          state: string;
          expires_at: Date;
          closed_at: Date | null;
          rows_changed: string;
        }>("select * from break_glass.status()");
        if (rows.rows.length === 0) io.err("no break-glass sessions");
        for (const row of rows.rows) {
          io.out(
            [row.session_id, row.state, row.operator, row.ticket, iso(row.expires_at), iso(row.closed_at)].join("  ") +
              `  rows_changed=${row.rows_changed}`,
          );
        }
        return EXIT.ok;
      });
    },
  };
}
