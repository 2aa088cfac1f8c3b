/**
 * `npm run stack -- up|down|status`: the real Kafka + Kafka Connect + Debezium
 * stack for manual use (running the examples against it, poking at it with
 * curl). `up` starts it in the background and prints, each on its own line,
 *
 *   CONNECT_URL=http://127.0.0.1:<port>
 *   KAFKA_BOOTSTRAP=127.0.0.1:<port>
 *
 * `down` stops exactly what `up` started (by PID) and removes its directory;
 * `status` says whether it runs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheRoot } from "./fetch";
import { alive, readState, startStack, stopStackDir } from "./stack";

const currentFile = () => path.join(cacheRoot(), "stack", "current.json");

function current(): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(currentFile(), "utf8")) as { dir: string }).dir;
  } catch {
    return undefined;
  }
}

async function status(): Promise<{ running: boolean; lines: string[] }> {
  const dir = current();
  const state = dir ? readState(dir) : undefined;
  if (!dir || !state) return { running: false, lines: ["stack: not running (npm run stack -- up starts it)"] };
  const lines = [`stack: ${dir}`];
  let running = true;
  for (const [name, pid] of Object.entries(state.pids)) {
    const up = alive(pid);
    running &&= up;
    lines.push(`  ${name}: PID ${pid} ${up ? "running" : "not running"}`);
  }
  for (const url of state.workerUrls) {
    const ok = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    running &&= ok;
    lines.push(`  ${url}: ${ok ? "answers" : "does not answer"}`);
  }
  lines.push(`CONNECT_URL=${state.connectUrl}`, `KAFKA_BOOTSTRAP=${state.bootstrap}`);
  lines.unshift(running ? "stack: running" : "stack: partly running (npm run stack -- down, then up)");
  return { running, lines };
}

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case "up": {
      const s = await status();
      if (s.running) {
        console.log(s.lines.join("\n"));
        return 0;
      }
      const dir = current();
      if (dir) await stopStackDir(dir);
      const stack = await startStack({ detached: true, log: (l) => console.error(l) });
      fs.mkdirSync(path.dirname(currentFile()), { recursive: true });
      fs.writeFileSync(currentFile(), JSON.stringify({ dir: stack.dir }));
      console.log(`CONNECT_URL=${stack.connectUrl}`);
      console.log(`KAFKA_BOOTSTRAP=${stack.bootstrap}`);
      return 0;
    }
    case "down": {
      const dir = current();
      if (!dir) {
        console.log("stack: not running");
        return 0;
      }
      await stopStackDir(dir);
      fs.rmSync(currentFile(), { force: true });
      console.log(`stack: stopped (${dir} removed)`);
      return 0;
    }
    case "status": {
      const s = await status();
      console.log(s.lines.join("\n"));
      return s.running ? 0 : 3;
    }
    default:
      console.error("usage: npm run stack -- up | down | status");
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
